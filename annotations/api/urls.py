from __future__ import annotations

from annotations.api import agreement, exports

urlpatterns = [
    *agreement.urlpatterns,
    *exports.urlpatterns,
]
