"""The portal's words in French (the seed's language, the default) and English."""

from __future__ import annotations

LANGUAGES = ("fr", "en")

# key: (français, English)
TEXT: dict[str, tuple[str, str]] = {
    "portal": ("Portail de support", "Support portal"),
    "home": ("Menu principal", "Main menu"),
    "login": ("Connexion", "Log in"),
    "logout": ("Déconnexion", "Log out"),
    "signup": ("Créer un compte", "Create an account"),
    "email": ("Adresse e-mail", "E-mail address"),
    "password": ("Mot de passe", "Password"),
    "name": ("Nom", "Name"),
    "company": ("Société", "Company"),
    "street": ("Adresse", "Street address"),
    "postcode": ("Code postal", "Postcode"),
    "city": ("Ville", "City"),
    "country": ("Pays", "Country"),
    "no_account": ("Pas encore de compte ?", "No account yet?"),
    "welcome": ("Bienvenue", "Welcome"),
    "products": ("Produits enregistrés", "Registered products"),
    "register_product": ("Enregistrer un produit", "Register a product"),
    "das": ("Activation des services D-Link", "D-Link services activation"),
    "services": ("Services activés", "Activated services"),
    "sites": ("Mes sites", "My sites"),
    "new_site": ("Créer une nouvelle adresse de site", "Create a new site address"),
    "save": ("Enregistrer", "Save"),
    "serial": ("Numéro de série", "Serial number"),
    "model": ("Modèle", "Model"),
    "hardware_version": ("Version matérielle", "Hardware version"),
    "mac": ("Adresse MAC", "MAC address"),
    "purchase_date": ("Date d'achat", "Purchase date"),
    "proof_of_purchase": ("Preuve d'achat (facture)", "Proof of purchase (invoice)"),
    "site": ("Site d'implantation", "Installation site"),
    "site_number": ("Numéro du site", "Site number"),
    "site_name": ("Nom du site", "Site name"),
    "terms_title": (
        "Termes et conditions des services D-Link Assist",
        "D-Link Assist terms and conditions",
    ),
    "terms_body": (
        "Les services D-Link Assist sont fournis par D-Link (Europe) Ltd pour les produits "
        "achetés auprès d'un revendeur européen agréé, munis d'un numéro de série D-Link "
        "valide et d'une preuve d'achat. Le service rétablit le fonctionnement par réparation "
        "ou remplacement selon le délai d'intervention indiqué sur le pack acheté. L'adresse "
        "du site doit correspondre à l'adresse physique du produit.",
        "D-Link Assist services are provided by D-Link (Europe) Ltd for products bought from "
        "an authorised European reseller, with a valid D-Link serial number and proof of "
        "purchase. The service restores operation by repair or replacement within the response "
        "time stated on the purchased pack. The site address must be the product's physical "
        "address.",
    ),
    "accept_terms": (
        "J'accepte les termes et conditions des services D-Link Assist",
        "I accept the D-Link Assist terms and conditions",
    ),
    "validate": ("Valider", "Validate"),
    "choose_product": (
        "Sélectionnez le produit pour lequel vous souhaitez activer votre service D-Link Assist.",
        "Choose the product for which you want to activate your D-Link Assist service.",
    ),
    "activation_code": ("Code d'activation", "Activation code"),
    "service_purchase_date": ("Date d'achat du service", "Service purchase date"),
    "submit": ("Soumettre", "Submit"),
    "search": ("Rechercher", "Search"),
    "search_hint": ("Numéro de série ou modèle", "Serial number or model"),
    "find_site": ("Rechercher un site", "Find a site"),
    "status": ("Statut", "Status"),
    "pending": ("En cours de mise en place", "Being set up"),
    "active": ("Actif", "Active"),
    "expired": ("Expiré", "Expired"),
    "valid_from": ("Début de validité", "Valid from"),
    "valid_until": ("Fin de validité", "Valid until"),
    "service": ("Service", "Service"),
    "contract": ("Contrat", "Contract"),
    "activated_ok": (
        "Votre service D-Link Assist est activé. Un délai de deux jours est nécessaire à la "
        "mise en place logistique de ce service.",
        "Your D-Link Assist service is activated. Two days are needed to set up its logistics.",
    ),
    "product_registered_ok": ("Produit enregistré.", "Product registered."),
    "site_created_ok": ("Site créé.", "Site created."),
    "nothing_yet": ("Aucun élément pour le moment.", "Nothing yet."),
    "can_activate": (
        "Ce produit peut recevoir un service D-Link Assist.",
        "This product can receive a D-Link Assist service.",
    ),
    "code_hint": (
        "Le code figure dans le fichier envoyé par votre revendeur ; il doit être utilisé dans "
        "les 90 jours suivant l'achat du service.",
        "The code is in the file your reseller sent; use it within 90 days of buying the service.",
    ),
    "language": ("English", "Français"),
    "footer": (
        "Copyright © D-Link Corporation. Tous droits réservés. Simulation nvrsim.",
        "Copyright © D-Link Corporation. All rights reserved. nvrsim simulation.",
    ),
    # refusals (rules.Refusal values)
    "missing_field": ("Champ obligatoire manquant", "A required field is missing"),
    "bad_email": ("Adresse e-mail invalide.", "Not a valid e-mail address."),
    "email_taken": (
        "Un compte existe déjà pour cette adresse e-mail.",
        "An account already exists for this e-mail address.",
    ),
    "weak_password": (
        "Le mot de passe doit comporter au moins 8 caractères.",
        "The password needs at least 8 characters.",
    ),
    "bad_credentials": ("E-mail ou mot de passe incorrect.", "Wrong e-mail or password."),
    "bad_serial": (
        "Numéro de série invalide : 13 lettres ou chiffres, comme sur l'étiquette.",
        "Not a valid serial number: 13 letters or digits, as on the label.",
    ),
    "bad_mac": ("Adresse MAC invalide.", "Not a valid MAC address."),
    "bad_hardware_version": (
        "Version matérielle invalide (par exemple A1, B1).",
        "Not a valid hardware version (e.g. A1, B1).",
    ),
    "future_date": ("La date ne peut pas être dans le futur.", "The date cannot be in the future."),
    "no_proof_of_purchase": (
        "Joignez votre preuve d'achat.",
        "Attach your proof of purchase.",
    ),
    "product_taken": (
        "Ce produit est déjà enregistré sur un compte.",
        "This product is already registered to an account.",
    ),
    "unknown_site": ("Site inconnu.", "Unknown site."),
    "site_exists": (
        "Cette adresse est déjà celle d'un de vos sites : une adresse par site.",
        "This address is already one of your sites: one address per site.",
    ),
    "terms_not_accepted": (
        "Acceptez d'abord les termes et conditions, puis cliquez sur « Valider ».",
        "First accept the terms and conditions, then click « Validate ».",
    ),
    "product_not_registered": (
        "Ce produit n'est pas enregistré sur votre compte. Enregistrez-le d'abord depuis le "
        "menu « Produits enregistrés ».",
        "This product is not registered to your account. Register it first from the "
        "« Registered products » menu.",
    ),
    "already_activated": (
        "Un service a déjà été activé pour ce produit : consultez l'onglet « services activés ».",
        "A service has already been activated for this product: see « Activated services ».",
    ),
    "unknown_code": ("Code d'activation inconnu.", "Unknown activation code."),
    "code_used": ("Ce code d'activation a déjà été utilisé.", "This activation code was used."),
    "code_for_another_product": (
        "Le code d'activation ne correspond pas à ce produit.",
        "The activation code does not match this product.",
    ),
    "purchase_date_mismatch": (
        "La date d'achat du service ne correspond pas à celle de votre revendeur.",
        "The service purchase date does not match your reseller's.",
    ),
    "code_expired": (
        "Ce code devait être utilisé dans les 90 jours suivant l'achat du service.",
        "This code had to be used within 90 days of buying the service.",
    ),
    "not_product_site": (
        "Le site choisi n'est pas celui où le produit est installé.",
        "The chosen site is not where the product is installed.",
    ),
    "unknown_reseller": ("Revendeur inconnu.", "Unknown reseller."),
    "bad_date": ("Date invalide (AAAA-MM-JJ).", "Not a valid date (YYYY-MM-DD)."),
}


def translate(key: str, lang: str) -> str:
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "fr" else pair[1]
