"""Sign-in with the marketplace's OpenID Connect provider (mozilla-django-oidc)."""
