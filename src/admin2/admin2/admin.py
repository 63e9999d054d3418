"""Admin registrations of the core: users with a larger "Show all" limit."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

User = get_user_model()


class Admin2UserAdmin(UserAdmin):
    # Staff reviewing accounts asked for one page of up to a thousand users.
    list_max_show_all = 1000


admin.site.unregister(User)
admin.site.register(User, Admin2UserAdmin)
