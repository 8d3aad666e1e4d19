"""Key rotation: secrets sealed with an old key are re-encrypted with the new first key."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from flowker import crypto
from flowker.sealing import SEALED, unseal
from providers.models import ProviderConfiguration
from providers.services import plain_config
from tests.factories import make_provider_config

pytestmark = pytest.mark.django_db


def test_rotation_re_encrypts_with_the_first_key(settings):
    old_key = settings.FLOWKER_ENCRYPTION_KEYS[0]
    config = make_provider_config(provider_id="tracer", api_key="tr-secret-1234")
    new_key = Fernet.generate_key().decode()
    settings.FLOWKER_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "provider configurations: 1 re-encrypted" in out.getvalue()
    stored = ProviderConfiguration.objects.get(pk=config.pk)
    Fernet(new_key.encode()).decrypt(stored.config["api_key"][SEALED].encode())  # new key alone
    settings.FLOWKER_ENCRYPTION_KEYS = [new_key]
    assert plain_config(stored)["api_key"] == "tr-secret-1234"
    settings.FLOWKER_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.InvalidToken):
        unseal(stored.config["api_key"])
