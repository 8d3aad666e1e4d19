"""Settings never invent secrets: both keys are required, from the environment or from the
var/secrets.env that `make run` generates; the environment wins."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def _run(tmp_path, code=PRINT_KEY, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SECRET_KEY", "FLOWKER_ENCRYPTION_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(FLOWKER_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="flowker.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_up_fails_without_the_keys(tmp_path):
    result = _run(tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


def test_a_bad_encryption_key_is_refused(tmp_path):
    result = _run(tmp_path, DJANGO_SECRET_KEY="s", FLOWKER_ENCRYPTION_KEY="not-a-fernet-key")
    assert result.returncode != 0 and "Fernet" in result.stderr


def test_keys_come_from_var_secrets_env_and_the_environment_wins(tmp_path):
    (tmp_path / "secrets.env").write_text(
        "DJANGO_SECRET_KEY=from-file\n"
        "FLOWKER_ENCRYPTION_KEY=X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA=\n"
    )
    assert _run(tmp_path).stdout.strip() == "from-file"
    assert _run(tmp_path, DJANGO_SECRET_KEY="from-env").stdout.strip() == "from-env"


PRINT_TLS = (
    "import json; from django.conf import settings as s; print(json.dumps(["
    "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, getattr(s, 'SECURE_PROXY_SSL_HEADER', None),"
    " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS]))"
)
KEYS = {
    "DJANGO_SECRET_KEY": "s",
    "FLOWKER_ENCRYPTION_KEY": "X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA=",
}


def test_tls_switches_are_off_by_default_and_set_from_the_environment(tmp_path):
    default = _run(tmp_path, PRINT_TLS, **KEYS)
    assert json.loads(default.stdout) == [False, False, None, 0, False], default.stderr
    behind_tls = _run(
        tmp_path,
        PRINT_TLS,
        DJANGO_SECURE_COOKIES="true",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        **KEYS,
    )
    assert json.loads(behind_tls.stdout) == [
        True,
        True,
        ["HTTP_X_FORWARDED_PROTO", "https"],
        31536000,
        True,
    ], behind_tls.stderr
