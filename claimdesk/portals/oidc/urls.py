"""Each portal's sign-in through the identity provider: /my/oidc/, /seller/oidc/, /console/oidc/.

The provider must know the three callback URLs as redirect URIs (docs/signin.md).
"""

from django.urls import path

from .views import SignInCallbackView, SignInStartView

app_name = "oidc"
urlpatterns = [
    path("my/oidc/start/", SignInStartView.as_view(portal="buyer"), name="buyer_start"),
    path("my/oidc/callback/", SignInCallbackView.as_view(portal="buyer"), name="buyer_callback"),
    path("seller/oidc/start/", SignInStartView.as_view(portal="seller"), name="seller_start"),
    path(
        "seller/oidc/callback/", SignInCallbackView.as_view(portal="seller"), name="seller_callback"
    ),
    path("console/oidc/start/", SignInStartView.as_view(portal="operator"), name="operator_start"),
    path(
        "console/oidc/callback/",
        SignInCallbackView.as_view(portal="operator"),
        name="operator_callback",
    ),
]
