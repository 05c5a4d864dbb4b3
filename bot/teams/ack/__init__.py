"""The one-click pages a Teams card's links open: `links` (the routes), `csrf` (the
form's double-submit token), `choice` (what the form asks for), `pages` (rendered from
`templates/`)."""
