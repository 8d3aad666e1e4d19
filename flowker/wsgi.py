import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowker.settings")

from flowker import tracing

# Before the middleware chain is built, so the tracing middleware is in it (a no-op when off;
# after a gunicorn --preload fork the SDK restarts its export thread in each worker).
tracing.setup()
application = get_wsgi_application()
