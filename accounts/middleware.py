from django.utils import timezone, translation


class UserLanguageMiddleware:
    """Apply the signed-in user's chosen language and time zone to every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
            try:
                timezone.activate(user.time_zone)
            except Exception:  # an unknown zone name must not break every page
                timezone.deactivate()
        response = self.get_response(request)
        return response
