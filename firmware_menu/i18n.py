# Cyrillic letters that look Latin are the Russian catalog's own words, not typos.
# ruff: noqa: RUF001
"""The menu's languages: one catalog per language, English as the source.

Every string the menu shows is written in English where it is used and passed
through `translate` (a session's `tr`); a catalog maps those English strings to
the language's. Plain dicts rather than gettext .po files: four small
catalogs, no build step, and a test can check every catalog for every key the
screens use. Strings with values in them are templates (`{n}`), formatted after
translation so a language can move the value.
"""

from __future__ import annotations

DEFAULT = "en"
# Each language by its own name, as a recorder's language list shows them.
LANGUAGES = {"en": "English", "ru": "Русский", "es": "Español", "fr": "Français"}


def translate(lang: str, text: str, **fields: object) -> str:
    """`text` in `lang`; an unknown string stays English rather than break a screen
    (the catalog test finds it)."""
    shown = CATALOGS.get(lang, {}).get(text, text)
    return shown.format(**fields) if fields else shown


def check(lang: str) -> str:
    """`lang` if the menu speaks it, else ValueError naming the ones it does."""
    if lang not in LANGUAGES:
        raise ValueError(f"no menu language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return lang


# --- the catalogs: English source -> the language's words --------------------------------
# The Hikvision terms follow its 4.x firmware in each language (RU "Доступ к платформе",
# "Отвязать"; ES "Acceso a plataforma", "Desvincular"; FR "Accès à la plateforme",
# "Dissocier"), so a trainee finds the words the support articles use.

RU: dict[str, str] = {
    "(read-only here; change the address with SADP)": (
        "(здесь только просмотр; адрес меняется в SADP)"
    ),
    "6 to 12 letters/digits": "6–12 букв/цифр",
    (
        "8 to 16 characters with at least two kinds of: digits, lower case letters, "
        "upper case letters, symbols; not containing the user name."
    ): (
        "от 8 до 16 символов, не менее двух типов из: цифры, строчные буквы, "
        "прописные буквы, спецсимволы; без имени пользователя."
    ),
    "Access Type": "Тип доступа",
    "Activate": "Активировать",
    "Activated. Log in with the new admin password.": (
        "Устройство активировано. Войдите с новым паролем admin."
    ),
    "Activation": "Активация",
    "Admin Password": "Пароль admin",
    "Bind Status": "Статус привязки",
    "Bound": "Привязано",
    (
        "Bound to another account? The recorder cannot unbind itself. In the DMSS "
        "app, add the device and tap Appeal: a photo of the device's label (proof of "
        "purchase helps); the review takes about 48 h."
    ): (
        "Привязано к чужой учётной записи? Регистратор не может отвязать себя сам. В "
        "приложении DMSS добавьте устройство и нажмите «Апелляция»: фото этикетки "
        "устройства (чек о покупке поможет); проверка занимает около 48 ч."
    ),
    "Cancel": "Отмена",
    "Change Verification Code": "Изменить код подтверждения",
    "Channels": "Каналы",
    "Cloud": "Облако",
    "Configuration": "Конфигурация",
    "Confirm Password": "Подтвердите пароль",
    "Confirm the admin password.": "Подтвердите пароль admin.",
    "Create the admin password to activate the device.": (
        "Задайте пароль admin, чтобы активировать устройство."
    ),
    "Create the admin password.\n{rule}": "Задайте пароль admin.\n{rule}",
    "Ctrl-Q Quit": "Ctrl-Q Выход",
    "DHCP": "DHCP",
    "Default": "По умолчанию",
    "Defaults restored. The device restarted. Please log in again.": (
        "Настройки по умолчанию восстановлены. Устройство перезагружено. Войдите снова."
    ),
    "Device": "Устройство",
    "Device Info": "Информация об устройстве",
    "Device Name": "Имя устройства",
    "Device No.": "Номер устройства",
    "Device SN": "Серийный номер",
    "Device not activated": "Устройство не активировано",
    "Disable Hik-Connect? The app will no longer reach the device.": (
        "Отключить Hik-Connect? Приложение больше не сможет подключиться к устройству."
    ),
    "Enable": "Включить",
    "Encoding Version": "Версия кодирования",
    "Enter Activate   Ctrl-Q Quit": "Enter Активировать   Ctrl-Q Выход",
    "Enter a new verification code.": "Введите новый код подтверждения.",
    "Firmware": "Прошивка",
    "Firmware Version": "Версия прошивки",
    "General": "Общие",
    "General (TCP/IP)": "Общие (TCP/IP)",
    "HDD": "HDD",
    "HTTP Port": "Порт HTTP",
    "HTTPS Port": "Порт HTTPS",
    "Hik-Connect server (e.g. dev.hik-connectru.com for Russia).": (
        "Сервер Hik-Connect (например, dev.hik-connectru.com для России)."
    ),
    (
        "IP cameras have no screen of their own: use the web page (ISAPI), SADP or "
        "the Hik-Connect app. Pick a recorder (NVR or DVR)."
    ): (
        "У IP-камер нет своего экрана: используйте веб-интерфейс (ISAPI), SADP или "
        "приложение Hik-Connect. Выберите регистратор (NVR или DVR)."
    ),
    "IPv4 Address": "IPv4-адрес",
    "IPv4 Default Gateway": "IPv4-шлюз по умолчанию",
    "IPv4 Subnet Mask": "Маска подсети IPv4",
    "IPv6 Address": "IPv6-адрес",
    "Incorrect user name or password. {n} attempt(s) left.": (
        "Неверное имя пользователя или пароль. Осталось попыток: {n}."
    ),
    "Info": "Информация",
    "Invalid code: use 6 to 12 letters or digits.": (
        "Недопустимый код: используйте от 6 до 12 букв или цифр."
    ),
    "Invalid server address: {server}.": "Недопустимый адрес сервера: {server}.",
    "Language": "Язык",
    "Local menu": "Локальное меню",
    "Log out of the menu?": "Выйти из меню?",
    "Logged out.": "Выход выполнен.",
    "Login": "Вход",
    "Logout": "Выход",
    "MAC Address": "MAC-адрес",
    "Main Menu": "Главное меню",
    "Maintenance": "Обслуживание",
    "Model": "Модель",
    "More Settings": "Дополнительно",
    "Network": "Сеть",
    "New Password": "Новый пароль",
    "No": "Нет",
    "Not bound": "Не привязано",
    "OFF": "ВЫКЛ",
    "OK": "OK",
    "ON": "ВКЛ",
    "Offline": "Не в сети",
    "Online": "В сети",
    "P2P": "P2P",
    "Password": "Пароль",
    "Platform Access": "Доступ к платформе",
    "Port": "Порт",
    "Press Enter.": "Нажмите Enter.",
    "RTSP Port": "Порт RTSP",
    "Reboot": "Перезагрузка",
    "Reboot the device now?": "Перезагрузить устройство сейчас?",
    "Restore Defaults": "Восстановить по умолчанию",
    (
        "Restore all parameters, except the network and user settings, to the "
        "defaults?\nHik-Connect will be disabled. The device will reboot."
    ): (
        "Восстановить все параметры, кроме сетевых и пользовательских, по "
        "умолчанию?\nHik-Connect будет отключён. Устройство перезагрузится."
    ),
    "Restores all but the network and user settings.": (
        "Восстанавливает всё, кроме сетевых и пользовательских настроек."
    ),
    "Risky password. Use {rule}": "Ненадёжный пароль. Используйте {rule}",
    "Running Since": "Работает с",
    "S/N": "S/N",
    "SDK over TLS Port": "Порт SDK по TLS",
    "Scan with DMSS": "Сканируйте в DMSS",
    "Scan with the Hik-Connect app": "Сканируйте в приложении Hik-Connect",
    "Serial": "Серийный №",
    "Serial No.": "Серийный номер",
    "Server": "Сервер",
    "Server Address": "Адрес сервера",
    "Server Port": "Порт сервера",
    "Status": "Статус",
    "Stream Encryption": "Шифрование потока",
    "System": "Система",
    "TCP/IP": "TCP/IP",
    "The device is already activated.": "Устройство уже активировано.",
    "The device is not bound to any Hik-Connect account.": (
        "Устройство не привязано ни к одной учётной записи Hik-Connect."
    ),
    "The device is restarting. Please wait…": "Устройство перезагружается. Подождите…",
    "The device restarted. Please log in again.": "Устройство перезагружено. Войдите снова.",
    "The passwords do not match.": "Пароли не совпадают.",
    "Too many failed login attempts.": "Слишком много неудачных попыток входа.",
    "Try again in": "Повторите через",
    "Try again in {n} s.": "Повторите через {n} с.",
    "Type   ←→ Tab Choose button   Enter Confirm   Esc Cancel": (
        "Ввод текста   ←→ Tab Выбор кнопки   Enter Подтвердить   Esc Отмена"
    ),
    "Type the password   Enter Log in   Esc Clear   Ctrl-Q Quit": (
        "Введите пароль   Enter Войти   Esc Очистить   Ctrl-Q Выход"
    ),
    "Unbind": "Отвязать",
    "Unbind the device from its Hik-Connect account.\nEnter the admin password to confirm.": (
        "Отвязать устройство от учётной записи Hik-Connect.\nВведите пароль admin для "
        "подтверждения."
    ),
    "Unbinding failed. Incorrect admin password.": "Не удалось отвязать. Неверный пароль admin.",
    "Unbinding failed. The admin user is locked.": (
        "Не удалось отвязать. Пользователь admin заблокирован."
    ),
    "Unbinding succeeded.\nThe device can now be added to another Hik-Connect account.": (
        "Устройство отвязано.\nТеперь его можно добавить в другую учётную запись Hik-Connect."
    ),
    "Unbinding failed. The request must come from the device's LAN.": (
        "Не удалось отвязать. Запрос должен поступать из локальной сети устройства."
    ),
    "Unbinding failed. The device is not activated.": (
        "Не удалось отвязать. Устройство не активировано."
    ),
    "Unbinding failed. Hik-Connect is disabled.\nEnable Hik-Connect and try again.": (
        "Не удалось отвязать. Hik-Connect отключён.\nВключите Hik-Connect и повторите попытку."
    ),
    (
        "Unbinding failed. The device is offline on Hik-Connect.\nCheck the network "
        "and the server address, then try again."
    ): (
        "Не удалось отвязать. Устройство не в сети Hik-Connect.\nПроверьте сеть и "
        "адрес сервера и повторите попытку."
    ),
    "User Name": "Имя пользователя",
    "User locked": "Пользователь заблокирован",
    "Verification Code": "Код подтверждения",
    "Verification code changed.": "Код подтверждения изменён.",
    "Wait for the device to start   Ctrl-Q Quit": "Дождитесь запуска устройства   Ctrl-Q Выход",
    "Wait for the lock to lift   Ctrl-Q Quit": "Дождитесь снятия блокировки   Ctrl-Q Выход",
    "Yes": "Да",
    "{analog} analog, {ip} IP": "{analog} аналог., {ip} IP",
    "{model} ({kind}) has no local menu.": "У {model} ({kind}) нет локального меню.",
    "{n} attempt(s) left.": "Осталось попыток: {n}.",
    "↑↓ Tab Move   Enter Select   ←→ Change   Esc Back   Mouse: click   Ctrl-Q Quit": (
        "↑↓ Tab Перемещение   Enter Выбор   ←→ Изменить   Esc Назад   Мышь: щелчок   Ctrl-Q Выход"
    ),
}

ES: dict[str, str] = {
    "(read-only here; change the address with SADP)": (
        "(solo lectura; cambie la dirección con SADP)"
    ),
    "6 to 12 letters/digits": "6 a 12 letras/dígitos",
    (
        "8 to 16 characters with at least two kinds of: digits, lower case letters, "
        "upper case letters, symbols; not containing the user name."
    ): (
        "de 8 a 16 caracteres con al menos dos tipos de: dígitos, minúsculas, "
        "mayúsculas, símbolos; sin contener el nombre de usuario."
    ),
    "Access Type": "Tipo de acceso",
    "Activate": "Activar",
    "Activated. Log in with the new admin password.": (
        "Activado. Inicie sesión con la nueva contraseña de admin."
    ),
    "Activation": "Activación",
    "Admin Password": "Contraseña de admin",
    "Bind Status": "Estado de vinculación",
    "Bound": "Vinculado",
    (
        "Bound to another account? The recorder cannot unbind itself. In the DMSS "
        "app, add the device and tap Appeal: a photo of the device's label (proof of "
        "purchase helps); the review takes about 48 h."
    ): (
        "¿Vinculado a otra cuenta? El grabador no puede desvincularse solo. En la app "
        "DMSS, añada el dispositivo y pulse Apelación: una foto de la etiqueta del "
        "dispositivo (el comprobante de compra ayuda); la revisión tarda unas 48 h."
    ),
    "Cancel": "Cancelar",
    "Change Verification Code": "Cambiar código de verificación",
    "Channels": "Canales",
    "Cloud": "Nube",
    "Configuration": "Configuración",
    "Confirm Password": "Confirmar contraseña",
    "Confirm the admin password.": "Confirme la contraseña de admin.",
    "Create the admin password to activate the device.": (
        "Cree la contraseña de admin para activar el dispositivo."
    ),
    "Create the admin password.\n{rule}": "Cree la contraseña de admin.\n{rule}",
    "Ctrl-Q Quit": "Ctrl-Q Salir",
    "DHCP": "DHCP",
    "Default": "Predeterminado",
    "Defaults restored. The device restarted. Please log in again.": (
        "Valores predeterminados restaurados. El dispositivo se reinició. Vuelva a iniciar sesión."
    ),
    "Device": "Dispositivo",
    "Device Info": "Información del dispositivo",
    "Device Name": "Nombre del dispositivo",
    "Device No.": "N.º de dispositivo",
    "Device SN": "Número de serie",
    "Device not activated": "Dispositivo no activado",
    "Disable Hik-Connect? The app will no longer reach the device.": (
        "¿Deshabilitar Hik-Connect? La app ya no podrá acceder al dispositivo."
    ),
    "Enable": "Habilitar",
    "Encoding Version": "Versión de codificación",
    "Enter Activate   Ctrl-Q Quit": "Enter Activar   Ctrl-Q Salir",
    "Enter a new verification code.": "Introduzca un nuevo código de verificación.",
    "Firmware": "Firmware",
    "Firmware Version": "Versión de firmware",
    "General": "General",
    "General (TCP/IP)": "General (TCP/IP)",
    "HDD": "HDD",
    "HTTP Port": "Puerto HTTP",
    "HTTPS Port": "Puerto HTTPS",
    "Hik-Connect server (e.g. dev.hik-connectru.com for Russia).": (
        "Servidor de Hik-Connect (p. ej., dev.hik-connectru.com para Rusia)."
    ),
    (
        "IP cameras have no screen of their own: use the web page (ISAPI), SADP or "
        "the Hik-Connect app. Pick a recorder (NVR or DVR)."
    ): (
        "Las cámaras IP no tienen pantalla propia: use la página web (ISAPI), SADP o "
        "la app Hik-Connect. Elija un grabador (NVR o DVR)."
    ),
    "IPv4 Address": "Dirección IPv4",
    "IPv4 Default Gateway": "Puerta de enlace IPv4",
    "IPv4 Subnet Mask": "Máscara de subred IPv4",
    "IPv6 Address": "Dirección IPv6",
    "Incorrect user name or password. {n} attempt(s) left.": (
        "Usuario o contraseña incorrectos. Intentos restantes: {n}."
    ),
    "Info": "Información",
    "Invalid code: use 6 to 12 letters or digits.": (
        "Código no válido: use de 6 a 12 letras o dígitos."
    ),
    "Invalid server address: {server}.": "Dirección de servidor no válida: {server}.",
    "Language": "Idioma",
    "Local menu": "Menú local",
    "Log out of the menu?": "¿Cerrar la sesión del menú?",
    "Logged out.": "Sesión cerrada.",
    "Login": "Iniciar sesión",
    "Logout": "Cerrar sesión",
    "MAC Address": "Dirección MAC",
    "Main Menu": "Menú principal",
    "Maintenance": "Mantenimiento",
    "Model": "Modelo",
    "More Settings": "Más ajustes",
    "Network": "Red",
    "New Password": "Nueva contraseña",
    "No": "No",
    "Not bound": "No vinculado",
    "OFF": "NO",
    "OK": "Aceptar",
    "ON": "SÍ",
    "Offline": "Sin conexión",
    "Online": "En línea",
    "P2P": "P2P",
    "Password": "Contraseña",
    "Platform Access": "Acceso a plataforma",
    "Port": "Puerto",
    "Press Enter.": "Pulse Enter.",
    "RTSP Port": "Puerto RTSP",
    "Reboot": "Reiniciar",
    "Reboot the device now?": "¿Reiniciar el dispositivo ahora?",
    "Restore Defaults": "Restaurar predeterminados",
    (
        "Restore all parameters, except the network and user settings, to the "
        "defaults?\nHik-Connect will be disabled. The device will reboot."
    ): (
        "¿Restaurar todos los parámetros, salvo los de red y de usuario, a los "
        "valores predeterminados?\nHik-Connect se deshabilitará. El dispositivo se "
        "reiniciará."
    ),
    "Restores all but the network and user settings.": (
        "Restaura todo salvo la configuración de red y de usuarios."
    ),
    "Risky password. Use {rule}": "Contraseña de riesgo. Use {rule}",
    "Running Since": "En marcha desde",
    "S/N": "N.º serie",
    "SDK over TLS Port": "Puerto SDK sobre TLS",
    "Scan with DMSS": "Escanee con DMSS",
    "Scan with the Hik-Connect app": "Escanee con la app Hik-Connect",
    "Serial": "N.º serie",
    "Serial No.": "N.º de serie",
    "Server": "Servidor",
    "Server Address": "Dirección del servidor",
    "Server Port": "Puerto del servidor",
    "Status": "Estado",
    "Stream Encryption": "Cifrado de flujo",
    "System": "Sistema",
    "TCP/IP": "TCP/IP",
    "The device is already activated.": "El dispositivo ya está activado.",
    "The device is not bound to any Hik-Connect account.": (
        "El dispositivo no está vinculado a ninguna cuenta de Hik-Connect."
    ),
    "The device is restarting. Please wait…": "El dispositivo se está reiniciando. Espere…",
    "The device restarted. Please log in again.": (
        "El dispositivo se reinició. Vuelva a iniciar sesión."
    ),
    "The passwords do not match.": "Las contraseñas no coinciden.",
    "Too many failed login attempts.": "Demasiados intentos fallidos de inicio de sesión.",
    "Try again in": "Vuelva a intentarlo en",
    "Try again in {n} s.": "Vuelva a intentarlo en {n} s.",
    "Type   ←→ Tab Choose button   Enter Confirm   Esc Cancel": (
        "Escriba   ←→ Tab Elegir botón   Enter Confirmar   Esc Cancelar"
    ),
    "Type the password   Enter Log in   Esc Clear   Ctrl-Q Quit": (
        "Escriba la contraseña   Enter Entrar   Esc Borrar   Ctrl-Q Salir"
    ),
    "Unbind": "Desvincular",
    "Unbind the device from its Hik-Connect account.\nEnter the admin password to confirm.": (
        "Desvincular el dispositivo de su cuenta de Hik-Connect.\nIntroduzca la "
        "contraseña de admin para confirmar."
    ),
    "Unbinding failed. Incorrect admin password.": (
        "Error al desvincular. Contraseña de admin incorrecta."
    ),
    "Unbinding failed. The admin user is locked.": (
        "Error al desvincular. El usuario admin está bloqueado."
    ),
    "Unbinding succeeded.\nThe device can now be added to another Hik-Connect account.": (
        "Desvinculación correcta.\nAhora puede añadir el dispositivo a otra cuenta de Hik-Connect."
    ),
    "Unbinding failed. The request must come from the device's LAN.": (
        "Error al desvincular. La solicitud debe venir de la LAN del dispositivo."
    ),
    "Unbinding failed. The device is not activated.": (
        "Error al desvincular. El dispositivo no está activado."
    ),
    "Unbinding failed. Hik-Connect is disabled.\nEnable Hik-Connect and try again.": (
        "Error al desvincular. Hik-Connect está deshabilitado.\nHabilite Hik-Connect e "
        "inténtelo de nuevo."
    ),
    (
        "Unbinding failed. The device is offline on Hik-Connect.\nCheck the network "
        "and the server address, then try again."
    ): (
        "Error al desvincular. El dispositivo está sin conexión en "
        "Hik-Connect.\nCompruebe la red y la dirección del servidor e inténtelo de "
        "nuevo."
    ),
    "User Name": "Usuario",
    "User locked": "Usuario bloqueado",
    "Verification Code": "Código de verificación",
    "Verification code changed.": "Código de verificación cambiado.",
    "Wait for the device to start   Ctrl-Q Quit": (
        "Espere a que el dispositivo arranque   Ctrl-Q Salir"
    ),
    "Wait for the lock to lift   Ctrl-Q Quit": "Espere a que se levante el bloqueo   Ctrl-Q Salir",
    "Yes": "Sí",
    "{analog} analog, {ip} IP": "{analog} analógicos, {ip} IP",
    "{model} ({kind}) has no local menu.": "{model} ({kind}) no tiene menú local.",
    "{n} attempt(s) left.": "Intentos restantes: {n}.",
    "↑↓ Tab Move   Enter Select   ←→ Change   Esc Back   Mouse: click   Ctrl-Q Quit": (
        "↑↓ Tab Mover   Enter Elegir   ←→ Cambiar   Esc Atrás   Ratón: clic   Ctrl-Q Salir"
    ),
}

FR: dict[str, str] = {
    "(read-only here; change the address with SADP)": (
        "(lecture seule ici ; modifiez l'adresse avec SADP)"
    ),
    "6 to 12 letters/digits": "6 à 12 lettres/chiffres",
    (
        "8 to 16 characters with at least two kinds of: digits, lower case letters, "
        "upper case letters, symbols; not containing the user name."
    ): (
        "8 à 16 caractères d'au moins deux types parmi : chiffres, minuscules, "
        "majuscules, symboles ; sans le nom d'utilisateur."
    ),
    "Access Type": "Type d'accès",
    "Activate": "Activer",
    "Activated. Log in with the new admin password.": (
        "Activé. Connectez-vous avec le nouveau mot de passe admin."
    ),
    "Activation": "Activation",
    "Admin Password": "Mot de passe admin",
    "Bind Status": "État d'association",
    "Bound": "Associé",
    (
        "Bound to another account? The recorder cannot unbind itself. In the DMSS "
        "app, add the device and tap Appeal: a photo of the device's label (proof of "
        "purchase helps); the review takes about 48 h."
    ): (
        "Associé à un autre compte ? L'enregistreur ne peut pas se dissocier "
        "lui-même. Dans l'application DMSS, ajoutez l'appareil et touchez Réclamation "
        ": une photo de l'étiquette de l'appareil (une preuve d'achat aide) ; "
        "l'examen prend environ 48 h."
    ),
    "Cancel": "Annuler",
    "Change Verification Code": "Modifier le code de vérification",
    "Channels": "Canaux",
    "Cloud": "Cloud",
    "Configuration": "Configuration",
    "Confirm Password": "Confirmer le mot de passe",
    "Confirm the admin password.": "Confirmez le mot de passe admin.",
    "Create the admin password to activate the device.": (
        "Créez le mot de passe admin pour activer l'appareil."
    ),
    "Create the admin password.\n{rule}": "Créez le mot de passe admin.\n{rule}",
    "Ctrl-Q Quit": "Ctrl-Q Quitter",
    "DHCP": "DHCP",
    "Default": "Par défaut",
    "Defaults restored. The device restarted. Please log in again.": (
        "Paramètres par défaut restaurés. L'appareil a redémarré. Reconnectez-vous."
    ),
    "Device": "Appareil",
    "Device Info": "Informations sur l'appareil",
    "Device Name": "Nom de l'appareil",
    "Device No.": "N° d'appareil",
    "Device SN": "Numéro de série",
    "Device not activated": "Appareil non activé",
    "Disable Hik-Connect? The app will no longer reach the device.": (
        "Désactiver Hik-Connect ? L'application ne pourra plus joindre l'appareil."
    ),
    "Enable": "Activer",
    "Encoding Version": "Version d'encodage",
    "Enter Activate   Ctrl-Q Quit": "Enter Activer   Ctrl-Q Quitter",
    "Enter a new verification code.": "Saisissez un nouveau code de vérification.",
    "Firmware": "Firmware",
    "Firmware Version": "Version du firmware",
    "General": "Général",
    "General (TCP/IP)": "Général (TCP/IP)",
    "HDD": "HDD",
    "HTTP Port": "Port HTTP",
    "HTTPS Port": "Port HTTPS",
    "Hik-Connect server (e.g. dev.hik-connectru.com for Russia).": (
        "Serveur Hik-Connect (par ex. dev.hik-connectru.com pour la Russie)."
    ),
    (
        "IP cameras have no screen of their own: use the web page (ISAPI), SADP or "
        "the Hik-Connect app. Pick a recorder (NVR or DVR)."
    ): (
        "Les caméras IP n'ont pas d'écran : utilisez la page web (ISAPI), SADP ou "
        "l'application Hik-Connect. Choisissez un enregistreur (NVR ou DVR)."
    ),
    "IPv4 Address": "Adresse IPv4",
    "IPv4 Default Gateway": "Passerelle IPv4 par défaut",
    "IPv4 Subnet Mask": "Masque de sous-réseau IPv4",
    "IPv6 Address": "Adresse IPv6",
    "Incorrect user name or password. {n} attempt(s) left.": (
        "Nom d'utilisateur ou mot de passe incorrect. Tentatives restantes : {n}."
    ),
    "Info": "Infos",
    "Invalid code: use 6 to 12 letters or digits.": (
        "Code non valide : utilisez 6 à 12 lettres ou chiffres."
    ),
    "Invalid server address: {server}.": "Adresse de serveur non valide : {server}.",
    "Language": "Langue",
    "Local menu": "Menu local",
    "Log out of the menu?": "Se déconnecter du menu ?",
    "Logged out.": "Déconnecté.",
    "Login": "Connexion",
    "Logout": "Déconnexion",
    "MAC Address": "Adresse MAC",
    "Main Menu": "Menu principal",
    "Maintenance": "Maintenance",
    "Model": "Modèle",
    "More Settings": "Plus de paramètres",
    "Network": "Réseau",
    "New Password": "Nouveau mot de passe",
    "No": "Non",
    "Not bound": "Non associé",
    "OFF": "NON",
    "OK": "OK",
    "ON": "OUI",
    "Offline": "Hors ligne",
    "Online": "En ligne",
    "P2P": "P2P",
    "Password": "Mot de passe",
    "Platform Access": "Accès à la plateforme",
    "Port": "Port",
    "Press Enter.": "Appuyez sur Entrée.",
    "RTSP Port": "Port RTSP",
    "Reboot": "Redémarrer",
    "Reboot the device now?": "Redémarrer l'appareil maintenant ?",
    "Restore Defaults": "Restaurer par défaut",
    (
        "Restore all parameters, except the network and user settings, to the "
        "defaults?\nHik-Connect will be disabled. The device will reboot."
    ): (
        "Restaurer tous les paramètres, sauf ceux du réseau et des utilisateurs, par "
        "défaut ?\nHik-Connect sera désactivé. L'appareil va redémarrer."
    ),
    "Restores all but the network and user settings.": (
        "Restaure tout sauf les paramètres réseau et utilisateurs."
    ),
    "Risky password. Use {rule}": "Mot de passe à risque. Utilisez {rule}",
    "Running Since": "En service depuis",
    "S/N": "N° série",
    "SDK over TLS Port": "Port SDK sur TLS",
    "Scan with DMSS": "Scannez avec DMSS",
    "Scan with the Hik-Connect app": "Scannez avec l'application Hik-Connect",
    "Serial": "N° série",
    "Serial No.": "N° de série",
    "Server": "Serveur",
    "Server Address": "Adresse du serveur",
    "Server Port": "Port serveur",
    "Status": "État",
    "Stream Encryption": "Chiffrement du flux",
    "System": "Système",
    "TCP/IP": "TCP/IP",
    "The device is already activated.": "L'appareil est déjà activé.",
    "The device is not bound to any Hik-Connect account.": (
        "L'appareil n'est associé à aucun compte Hik-Connect."
    ),
    "The device is restarting. Please wait…": "L'appareil redémarre. Veuillez patienter…",
    "The device restarted. Please log in again.": "L'appareil a redémarré. Reconnectez-vous.",
    "The passwords do not match.": "Les mots de passe ne correspondent pas.",
    "Too many failed login attempts.": "Trop de tentatives de connexion échouées.",
    "Try again in": "Réessayez dans",
    "Try again in {n} s.": "Réessayez dans {n} s.",
    "Type   ←→ Tab Choose button   Enter Confirm   Esc Cancel": (
        "Saisie   ←→ Tab Choisir le bouton   Entrée Valider   Échap Annuler"
    ),
    "Type the password   Enter Log in   Esc Clear   Ctrl-Q Quit": (
        "Saisissez le mot de passe   Entrée Se connecter   Échap Effacer   Ctrl-Q Quitter"
    ),
    "Unbind": "Dissocier",
    "Unbind the device from its Hik-Connect account.\nEnter the admin password to confirm.": (
        "Dissocier l'appareil de son compte Hik-Connect.\nSaisissez le mot de passe "
        "admin pour confirmer."
    ),
    "Unbinding failed. Incorrect admin password.": (
        "Échec de la dissociation. Mot de passe admin incorrect."
    ),
    "Unbinding failed. The admin user is locked.": (
        "Échec de la dissociation. L'utilisateur admin est verrouillé."
    ),
    "Unbinding succeeded.\nThe device can now be added to another Hik-Connect account.": (
        "Dissociation réussie.\nL'appareil peut maintenant être ajouté à un autre "
        "compte Hik-Connect."
    ),
    "Unbinding failed. The request must come from the device's LAN.": (
        "Échec de la dissociation. La demande doit venir du réseau local de l'appareil."
    ),
    "Unbinding failed. The device is not activated.": (
        "Échec de la dissociation. L'appareil n'est pas activé."
    ),
    "Unbinding failed. Hik-Connect is disabled.\nEnable Hik-Connect and try again.": (
        "Échec de la dissociation. Hik-Connect est désactivé.\nActivez Hik-Connect et réessayez."
    ),
    (
        "Unbinding failed. The device is offline on Hik-Connect.\nCheck the network "
        "and the server address, then try again."
    ): (
        "Échec de la dissociation. L'appareil est hors ligne sur "
        "Hik-Connect.\nVérifiez le réseau et l'adresse du serveur, puis réessayez."
    ),
    "User Name": "Nom d'utilisateur",
    "User locked": "Utilisateur verrouillé",
    "Verification Code": "Code de vérification",
    "Verification code changed.": "Code de vérification modifié.",
    "Wait for the device to start   Ctrl-Q Quit": (
        "Attendez le démarrage de l'appareil   Ctrl-Q Quitter"
    ),
    "Wait for the lock to lift   Ctrl-Q Quit": "Attendez la levée du verrouillage   Ctrl-Q Quitter",
    "Yes": "Oui",
    "{analog} analog, {ip} IP": "{analog} analogiques, {ip} IP",
    "{model} ({kind}) has no local menu.": "{model} ({kind}) n'a pas de menu local.",
    "{n} attempt(s) left.": "Tentatives restantes : {n}.",
    "↑↓ Tab Move   Enter Select   ←→ Change   Esc Back   Mouse: click   Ctrl-Q Quit": (
        "↑↓ Tab Déplacer   Entrée Choisir   ←→ Changer   Échap Retour   Souris : clic   "
        "Ctrl-Q Quitter"
    ),
}

CATALOGS: dict[str, dict[str, str]] = {"en": {}, "ru": RU, "es": ES, "fr": FR}
