"""The Celery entry point: `celery -A workers.celery_app worker|beat`."""
from cogrow import create_app
from workers.schedule import beat_schedule

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = beat_schedule(flask_app.config)
