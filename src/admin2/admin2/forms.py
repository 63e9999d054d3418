"""The admin login form: password, then a TOTP code for staff who have a device."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.validators import MaxLengthValidator
from django_otp import match_token, user_has_device


class Admin2LoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Only if two-factor login is set up for your account.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django sets the username's max_length after building the field, so it is not
        # enforced; a longer name reached the login lockout's 255-character column (a 500 on
        # PostgreSQL). Found by tests/fuzz/test_admin_forms.py.
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        token = (self.cleaned_data.get("otp_token") or "").strip()
        if user_has_device(user):
            device = match_token(user, token) if token else None
            if device is None:
                raise forms.ValidationError(
                    "Enter the current code from your authenticator app.", code="otp_required"
                )
            # django_otp's user_logged_in receiver marks the session verified with it.
            user.otp_device = device
        elif settings.ADMIN2_OTP_REQUIRED:
            raise forms.ValidationError(
                "Two-factor login is required and no authenticator is set up for this account. "
                "Ask an administrator to add a TOTP device for you.",
                code="otp_not_configured",
            )
