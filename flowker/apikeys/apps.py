from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "flowker.apikeys"
    label = "apikeys"
    verbose_name = "API keys"
