"""The DMSS cloud (Dahua's app back end): accounts, binding, the Appeal of seed 000, e-mail.

`rules` is pure (the injected clock's `now` in, decisions out); `photos` tells
what a photo shows, from its pixels; `generator` makes the sample photos of
`nvrsim photo`; `mailer` delivers the outbox over SMTP; `app` is the thin
aiohttp JSON API.
"""
