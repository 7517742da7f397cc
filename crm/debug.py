"""Error reports that hide secrets with DEBUG on too.

Django's SafeExceptionReporterFilter is active only with DEBUG off, so the DEBUG error page shows
every POST field and every frame's local variables, mail passwords included. This filter is
always active: `sensitive_variables` and `sensitive_post_parameters` hold on every error page.
"""

from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request) -> bool:
        return True
