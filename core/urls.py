"""The ground floor's pages: signing in and out, the enterprise register, identity codes, health."""

from django.contrib.auth import views as auth_views
from django.urls import path

from core import account_views, audit_views, views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The user's own account: device tokens, password, sign out everywhere (core.account_views).
    path("accounts/", account_views.account_page, name="account"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password-change"),
    path("accounts/tokens/<int:pk>/revoke", account_views.token_revoke, name="account-token-revoke"),
    path(
        "accounts/sign-out-everywhere", account_views.sign_out_everywhere, name="account-sign-out-everywhere"
    ),
    path("enterprises/", views.enterprise_list, name="enterprise-list"),
    path("enterprises/<str:uscc>/", views.enterprise_detail, name="enterprise-detail"),
    path("enterprises/<str:uscc>/code/rotate", views.code_rotate, name="code-rotate"),
    path("healthz", views.healthz, name="healthz"),
    # Public: the audit chain's checkpoints (core/checkpoints.py).
    path("audit/checkpoints/", audit_views.checkpoint_list, name="audit-checkpoints"),
]
