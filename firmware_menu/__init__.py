"""The recorder's local on-screen menu (model apart from its prompt_toolkit view).

- `model`: `MenuModel(device, clock)`, the pure state machine (keys in, screen out);
  `tree_for(device)` picks the vendor's menu by `device.vendor`, none without
  capability `local_menu`.
- `tree`: pages, items and dialogs as data; `hikvision`, `dahua`: the vendor trees;
  `common`: shared pages and actions (reboot and restore defaults are Device rules);
  `qr`: QR contents and half-block drawing.
- `render`, `view`: the prompt_toolkit drawing and Application (`build_app(model)`).
- `telnet`: `MenuTelnetServer`, one session per connection; `cli`: `nvrsim menu`.
- `live`: a session on a running simulator's live device, served over the control
  API's WebSocket; `attach`: the terminal and telnet clients of that WebSocket.
"""
