"""The dashboard's web adapter: sign-in with OpenID Connect (`auth`) and its pages. Who
sees what is `bot.app.viewers`. It imports the use cases, never storage and never
another adapter."""
