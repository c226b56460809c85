#!/usr/bin/python3
"""Generate compatibility fixtures for internal/identity from the REAL legacy
libraries (Django + DRF + djangorestframework-simplejwt, passlib + bcrypt).

Writes, into the testdata directory (the parent of this script's directory):

  password_hashes.json   password hash vectors (Django hashers, passlib bcrypt)
  simplejwt_tokens.json  tokens minted by simplejwt, with decoded payloads
  simplejwt_errors.json  golden status codes / bodies / WWW-Authenticate
                         headers from the real DRF + simplejwt views

Run with the Debian system interpreter (the packages live in its
dist-packages, not in pyenv or a venv):

  /usr/bin/python3 internal/identity/testdata/gen/generate.py

See README.md next to this file.
"""

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import types
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.dirname(HERE)

SIGNING_KEY = "thot-test-signing-key-0123456789abcdef"
OTHER_KEY = "not-the-thot-signing-key-fedcba9876543210"
TEAM_ID = "d8574c01-851f-4716-9ac9-bbda45469bdf"
ANA_PASSWORD = "Contraseña-ñ 123"
# Fixed instant used for the deliberately expired tokens, so their iat/exp
# are identical on every run.
EXPIRED_FROM = dt.datetime(2024, 1, 1, 0, 0, 0, tzinfo=dt.timezone.utc)

FIXTURE_MODULE = "thot_legacy_fixture"

DEBIAN_PACKAGES = [
    "python3-django",
    "python3-djangorestframework",
    "python3-djangorestframework-simplejwt",
    "python3-passlib",
    "python3-bcrypt",
    "python3-jwt",
]


# ---------------------------------------------------------------------------
# Django set-up
# ---------------------------------------------------------------------------

def configure_django():
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="thot-fixture-django-secret-key-not-used-in-production",
        ALLOWED_HOSTS=["testserver", "localhost"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            "rest_framework_simplejwt",
            "rest_framework_simplejwt.token_blacklist",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": ":memory:",
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        ROOT_URLCONF=FIXTURE_MODULE,
        LANGUAGE_CODE="en-us",
        USE_I18N=True,
        USE_TZ=True,
        TIME_ZONE="UTC",
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
            "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
            "django.contrib.auth.hashers.BCryptPasswordHasher",
        ],
        REST_FRAMEWORK={},
        SIMPLE_JWT={
            "SIGNING_KEY": SIGNING_KEY,
            "ALGORITHM": "HS256",
            "ACCESS_TOKEN_LIFETIME": dt.timedelta(minutes=480),
            "REFRESH_TOKEN_LIFETIME": dt.timedelta(days=7),
            "ROTATE_REFRESH_TOKENS": True,
            "BLACKLIST_AFTER_ROTATION": True,
            # The legacy overrides TokenObtainPairSerializer.get_token to add
            # claims; the override lives in the synthetic fixture module.
            "TOKEN_OBTAIN_SERIALIZER": FIXTURE_MODULE + ".LegacyTokenObtainPairSerializer",
        },
    )

    # The urlconf / serializer module must be importable by name before
    # django.setup() resolves anything lazily; fill it in after setup.
    mod = types.ModuleType(FIXTURE_MODULE)
    mod.urlpatterns = []
    sys.modules[FIXTURE_MODULE] = mod

    import django

    django.setup()

    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    build_fixture_module(mod)
    return mod


def legacy_claims(user):
    """Claims the legacy TokenObtainPairSerializer.get_token override adds."""
    return {
        "is_superuser": user.is_superuser,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "must_change_password": False,
        "role": "member",
        "team_id": TEAM_ID,
    }


def build_fixture_module(mod):
    from django.urls import path
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
    from rest_framework_simplejwt.views import (
        TokenBlacklistView,
        TokenObtainPairView,
        TokenRefreshView,
        TokenVerifyView,
    )

    class LegacyTokenObtainPairSerializer(TokenObtainPairSerializer):
        @classmethod
        def get_token(cls, user):
            token = super().get_token(user)
            for k, v in legacy_claims(user).items():
                token[k] = v
            return token

    class ProtectedView(APIView):
        authentication_classes = [JWTAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request):
            # Body defined by this generator (not legacy): only the status
            # and the authentication failures matter.
            return Response({"id": request.user.id, "username": request.user.username})

    LegacyTokenObtainPairSerializer.__module__ = FIXTURE_MODULE
    mod.LegacyTokenObtainPairSerializer = LegacyTokenObtainPairSerializer
    mod.ProtectedView = ProtectedView
    mod.urlpatterns = [
        path("api/token/", TokenObtainPairView.as_view()),
        path("api/token/refresh/", TokenRefreshView.as_view()),
        path("api/token/verify/", TokenVerifyView.as_view()),
        path("api/token/blacklist/", TokenBlacklistView.as_view()),
        path("api/protected/", ProtectedView.as_view()),
    ]


# ---------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------

def dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # pragma: no cover
        return None


def debian_versions():
    out = {}
    for pkg in DEBIAN_PACKAGES:
        try:
            v = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", pkg],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
        except Exception:
            v = None
        out[pkg] = v
    return out


def generated_with():
    import bcrypt
    import django
    import jwt
    import passlib
    import rest_framework

    return {
        "generator": "internal/identity/testdata/gen/generate.py",
        "python": platform.python_version(),
        "django": django.get_version(),
        "djangorestframework": rest_framework.__version__,
        "djangorestframework_simplejwt": dist_version("djangorestframework_simplejwt")
        or dist_version("djangorestframework-simplejwt"),
        "passlib": passlib.__version__,
        "bcrypt": bcrypt.__version__,
        "pyjwt": jwt.__version__,
        "debian_packages": debian_versions(),
    }


# ---------------------------------------------------------------------------
# a. password hashes
# ---------------------------------------------------------------------------

Y80 = "y" * 80

# (password, wrong_password, note)
PASSWORDS = [
    (
        ANA_PASSWORD,
        unicodedata.normalize("NFD", ANA_PASSWORD),
        "password is NFC (U+00F1); wrong_password is the same text in NFD "
        "(n + U+0303): looks identical, different bytes, must not verify "
        "(neither Django nor passlib normalises Unicode)",
    ),
    ("admin123", "Admin123", None),
    ("x", "X", None),
    (
        "clave\U0001F510segura",
        "clave\U0001F512segura",
        "4-byte UTF-8 emoji U+1F510; wrong_password uses U+1F512",
    ),
]


def password_vectors():
    import bcrypt as bcrypt_lib
    import django
    import passlib
    from django.contrib.auth.hashers import (
        BCryptPasswordHasher,
        BCryptSHA256PasswordHasher,
        PBKDF2PasswordHasher,
        check_password,
        make_password,
    )
    from passlib.context import CryptContext

    djv = django.get_version()

    class PBKDF2_600k(PBKDF2PasswordHasher):
        iterations = 600000

    class PBKDF2_260k(PBKDF2PasswordHasher):
        iterations = 260000

    django_hashers = [
        ("pbkdf2_sha256", PBKDF2_600k(), "PBKDF2PasswordHasher subclass, iterations=600000 (Django 4.2+ default)"),
        ("pbkdf2_sha256", PBKDF2_260k(), "PBKDF2PasswordHasher subclass, iterations=260000 (Django 3.2 default)"),
        ("bcrypt_sha256", BCryptSHA256PasswordHasher(), "BCryptSHA256PasswordHasher, rounds=12"),
        ("bcrypt", BCryptPasswordHasher(), "BCryptPasswordHasher, rounds=12"),
    ]

    # hps-system (FastAPI) context, used to verify all passlib vectors.
    verify_ctx = CryptContext(schemes=["bcrypt"])

    vectors = []

    def add(algorithm, library, password, wrong, encoded, source, verify, notes, also_verifies=()):
        assert verify(password, encoded), (algorithm, password, encoded)
        assert not verify(wrong, encoded), (algorithm, wrong, encoded)
        for p in also_verifies:
            assert verify(p, encoded), (algorithm, p, encoded)
        v = {
            "algorithm": algorithm,
            "library": library,
            "password": password,
            "wrong_password": wrong,
            "encoded": encoded,
            "source": source,
        }
        if also_verifies:
            v["also_verifies"] = list(also_verifies)
        if notes:
            v["notes"] = " ".join(notes)
        vectors.append(v)

    def django_verify(p, e):
        return check_password(p, e)

    def passlib_verify(p, e):
        return verify_ctx.verify(p, e)

    # --- Django hashers -------------------------------------------------
    for algorithm, hasher, params in django_hashers:
        src = "Django %s make_password(password, hasher=<%s>); verified with check_password" % (djv, params)
        for password, wrong, note in PASSWORDS:
            encoded = make_password(password, hasher=hasher)
            assert encoded.startswith(algorithm + "$"), encoded
            add(algorithm, "django", password, wrong, encoded, src, django_verify, [note] if note else [])
        if algorithm == "bcrypt_sha256":
            encoded = make_password(Y80, hasher=hasher)
            add(algorithm, "django", Y80, "y" * 72, encoded, src, django_verify, [
                "80-byte password. bcrypt_sha256 bcrypts hex(sha256(password)) (64 bytes), "
                "so there is NO 72-byte truncation: the 72-byte prefix (wrong_password) must not verify."
            ])
        elif algorithm == "bcrypt":
            encoded = make_password(Y80, hasher=hasher)
            add(algorithm, "django", Y80, "y" * 71 + "z", encoded, src, django_verify, [
                "80-byte password. Django's plain bcrypt hasher passes the password to bcrypt, "
                "which only uses the first 72 bytes: every password sharing those 72 bytes "
                "(also_verifies) matches. bcrypt>=5.0 (Python) raises for >72 bytes instead; "
                "the bcrypt used here truncates silently."
            ], also_verifies=("y" * 72, "y" * 72 + "anything"))

    # --- passlib bcrypt (hps-system) ----------------------------------------
    for ident in ("2b", "2a", "2y"):
        ctx = CryptContext(schemes=["bcrypt"], bcrypt__ident=ident)
        src = ("passlib %s CryptContext(schemes=['bcrypt'], bcrypt__ident='%s').hash(password) "
               "[bcrypt backend %s]; verified with CryptContext(schemes=['bcrypt']).verify"
               % (passlib.__version__, ident, bcrypt_lib.__version__))
        for password, wrong, note in PASSWORDS + [(Y80, "y" * 71 + "z", None)]:
            encoded = ctx.hash(password)
            assert encoded.startswith("$%s$12$" % ident), encoded
            notes = [note] if note else []
            also = ()
            if password == Y80:
                notes.append(
                    "80-byte password: bcrypt only uses the first 72 bytes, so every password "
                    "sharing them (also_verifies) matches. passlib's default truncate_error=False "
                    "truncates silently.")
                also = ("y" * 72, "y" * 72 + "anything")
            add("passlib_bcrypt_" + ident, "passlib", password, wrong, encoded, src, passlib_verify, notes, also_verifies=also)

    # Unusable passwords (set_unusable_password / make_password(None)).
    enc = make_password(None)
    assert not check_password("", enc) and not check_password(enc, enc)
    unusable = [{
        "encoded": enc,
        "source": "Django %s make_password(None) (User.set_unusable_password): \"!\" + 40 "
                  "random characters; check_password returns False for every input" % djv,
    }]

    return {
        "generated_with": generated_with(),
        "description": (
            "Password hash vectors. Every vector was checked with the real library before "
            "being written: password verifies, wrong_password does not, every also_verifies "
            "entry verifies. algorithm is the Django algorithm name (pbkdf2_sha256, bcrypt_sha256, "
            "bcrypt) for library \"django\" vectors, and passlib_bcrypt_<ident> for library "
            "\"passlib\" vectors (bare modular-crypt $2a$/$2b$/$2y$ hashes as stored by the "
            "FastAPI service). Passwords and wrong_password are compared as UTF-8 bytes."
        ),
        "vectors": vectors,
        "unusable": unusable,
    }


# ---------------------------------------------------------------------------
# b. simplejwt tokens
# ---------------------------------------------------------------------------

def create_users():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    ana = User(
        id=42, username="ana", email="ana@example.org",
        first_name="Ana", last_name="Núñez", is_superuser=False, is_active=True,
    )
    ana.set_password(ANA_PASSWORD)
    ana.save()
    inactive = User(
        id=43, username="inactiva", email="inactiva@example.org",
        first_name="In", last_name="Activa", is_superuser=False, is_active=False,
    )
    inactive.set_password(ANA_PASSWORD)
    inactive.save()
    return ana, inactive


def decode_unverified(token):
    import jwt

    return {
        "header": jwt.get_unverified_header(token),
        "payload": jwt.decode(token, options={"verify_signature": False}),
    }


def simplejwt_error(token_cls, token):
    """Message of the TokenError the real token class raises, or None."""
    from rest_framework_simplejwt.exceptions import TokenError

    try:
        token_cls(token)
    except TokenError as e:
        return str(e.args[0])
    return None


def make_expired_access(user, mod):
    """An access token for user, signed with the right key, expired since
    EXPIRED_FROM + ACCESS_TOKEN_LIFETIME."""
    from rest_framework_simplejwt.tokens import AccessToken

    tok = AccessToken.for_user(user)
    for k, v in legacy_claims(user).items():
        tok[k] = v
    tok.set_iat(at_time=EXPIRED_FROM)
    tok.set_exp(from_time=EXPIRED_FROM)
    return str(tok)


def make_expired_refresh(user):
    from rest_framework_simplejwt.tokens import RefreshToken

    tok = RefreshToken()
    tok["user_id"] = user.id
    tok.set_iat(at_time=EXPIRED_FROM)
    tok.set_exp(from_time=EXPIRED_FROM)
    return str(tok)


def simplejwt_tokens(ana, mod):
    import jwt
    from rest_framework_simplejwt.backends import TokenBackend
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, UntypedToken

    refresh = mod.LegacyTokenObtainPairSerializer.get_token(ana)  # RefreshToken.for_user + claims
    access = refresh.access_token
    refresh_s, access_s = str(refresh), str(access)

    # The real library must accept both.
    assert simplejwt_error(RefreshToken, refresh_s) is None
    assert simplejwt_error(AccessToken, access_s) is None
    assert simplejwt_error(AccessToken, refresh_s) == "Token has wrong type"

    r = decode_unverified(refresh_s)
    a = decode_unverified(access_s)
    assert a["payload"]["iat"] == r["payload"]["iat"]

    negatives = []

    def neg(name, token, description, decoded=True):
        item = {
            "name": name,
            "token": token,
            "description": description,
            "simplejwt_access_error": simplejwt_error(AccessToken, token),
            "simplejwt_refresh_error": simplejwt_error(RefreshToken, token),
            "simplejwt_untyped_error": simplejwt_error(UntypedToken, token),
        }
        assert item["simplejwt_access_error"] is not None, name
        if decoded:
            item.update(decode_unverified(token))
        negatives.append(item)

    other = TokenBackend("HS256", signing_key=OTHER_KEY)
    neg("wrong_signature", other.encode(a["payload"]),
        "The access payload above, HS256-signed with %r instead of signing_key "
        "(rest_framework_simplejwt.backends.TokenBackend.encode)." % OTHER_KEY)

    neg("expired_access", make_expired_access(ana, mod),
        "AccessToken.for_user(ana) + legacy claims, set_iat(at_time=%s) and "
        "set_exp(from_time=%s): signed with signing_key, expired at iat+480min."
        % (EXPIRED_FROM.isoformat(), EXPIRED_FROM.isoformat()))

    neg("expired_refresh", make_expired_refresh(ana),
        "RefreshToken() with user_id=42, iat=%s, exp=iat+7d: expired, right key."
        % EXPIRED_FROM.isoformat())

    neg("hs512_right_key", jwt.encode(a["payload"], SIGNING_KEY, algorithm="HS512"),
        "The access payload signed with signing_key but alg HS512: simplejwt only "
        "accepts its configured ALGORITHM (HS256).")

    neg("alg_none", jwt.encode(a["payload"], None, algorithm="none"),
        "The access payload with alg \"none\" and an empty signature.")

    lt = api_settings.ACCESS_TOKEN_LIFETIME
    rt = api_settings.REFRESH_TOKEN_LIFETIME
    iat = a["payload"]["iat"]
    return {
        "generated_with": generated_with(),
        "description": (
            "Tokens minted by the real simplejwt for user ana (id 42) with the legacy "
            "get_token claims. Tokens expire: verify them with a fixed clock "
            "(e.g. jwt.WithTimeFunc returning verify_at). simplejwt uses leeway 0 and "
            "treats a token as expired when exp <= now."
        ),
        "signing_key": SIGNING_KEY,
        "algorithm": api_settings.ALGORITHM,
        "settings": {
            "ACCESS_TOKEN_LIFETIME_seconds": int(lt.total_seconds()),
            "REFRESH_TOKEN_LIFETIME_seconds": int(rt.total_seconds()),
            "ROTATE_REFRESH_TOKENS": api_settings.ROTATE_REFRESH_TOKENS,
            "BLACKLIST_AFTER_ROTATION": api_settings.BLACKLIST_AFTER_ROTATION,
            "AUTH_HEADER_TYPES": list(api_settings.AUTH_HEADER_TYPES),
            "USER_ID_CLAIM": api_settings.USER_ID_CLAIM,
            "TOKEN_TYPE_CLAIM": api_settings.TOKEN_TYPE_CLAIM,
            "JTI_CLAIM": api_settings.JTI_CLAIM,
            "LEEWAY": api_settings.LEEWAY,
        },
        "user": {
            "id": ana.id, "username": ana.username, "email": ana.email,
            "first_name": ana.first_name, "last_name": ana.last_name,
            "is_superuser": ana.is_superuser, "password": ANA_PASSWORD,
        },
        "custom_claims": legacy_claims(ana),
        "lifetimes": {
            "access_seconds": int(lt.total_seconds()),
            "refresh_seconds": int(rt.total_seconds()),
            "note": "access exp = iat + 480 min, refresh exp = iat + 7 days; the access "
                    "token's exp is computed from the refresh token's creation time, so "
                    "both share iat.",
        },
        "iat": iat,
        "access_exp": a["payload"]["exp"],
        "refresh_exp": r["payload"]["exp"],
        "verify_at": iat + 60,
        "verify_at_note": "A clock at which refresh and access are both valid (iat+60s). "
                          "access is expired at access_exp and later; refresh at refresh_exp.",
        "refresh": refresh_s,
        "access": access_s,
        "refresh_decoded": r,
        "access_decoded": a,
        "negative": negatives,
    }


# ---------------------------------------------------------------------------
# c. simplejwt / DRF error bodies
# ---------------------------------------------------------------------------

def simplejwt_errors(ana, inactive, mod):
    import jwt
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.backends import TokenBackend
    from rest_framework_simplejwt.tokens import AccessToken

    client = APIClient()
    tokens = {}
    legend = {}
    cases = []

    def tok(name, value, description):
        tokens[name] = value
        legend["<%s>" % name] = description

    def subst(obj):
        if isinstance(obj, str):
            for name, value in tokens.items():
                obj = obj.replace("<%s>" % name, value)
            return obj
        if isinstance(obj, dict):
            return {k: subst(v) for k, v in obj.items()}
        return obj

    def redact(body):
        if isinstance(body, dict):
            return {k: ("<jwt>" if isinstance(v, str) and v.count(".") == 2 and len(v) > 40 else v)
                    for k, v in body.items()}
        return body

    def run(case, method, path, body=None, headers=None, content_type="application/json",
            raw=None, keys_only=False, note=None, legacy_list=True):
        headers = headers or {}
        if raw is not None:
            data = raw
            rec_body = raw
        elif body is None:
            data = ""
            rec_body = None
        elif content_type == "application/json":
            data = json.dumps(subst(body))
            rec_body = body
        else:  # form encoded
            from urllib.parse import urlencode

            data = urlencode(subst(body))
            rec_body = urlencode(body)
        meta = {}
        for k, v in headers.items():
            meta["HTTP_" + k.upper().replace("-", "_")] = subst(v)
        kwargs = dict(meta)
        if method != "GET" or data:
            kwargs["content_type"] = content_type
        resp = client.generic(method, path, data=data, **kwargs)
        try:
            parsed = json.loads(resp.content.decode("utf-8")) if resp.content else None
        except ValueError:
            parsed = resp.content.decode("utf-8", "replace")
        entry = {
            "case": case,
            "method": method,
            "path": path,
            "request_body": rec_body,
            "request_content_type": content_type if (method != "GET" or data) else None,
            "request_headers": headers,
            "status": resp.status_code,
            "content_type": resp.get("Content-Type"),
            "www_authenticate": resp.get("WWW-Authenticate"),
            "allow": resp.get("Allow") if resp.status_code == 405 else None,
            "in_brief": legacy_list,
        }
        if keys_only:
            entry["body"] = redact(parsed)
            entry["body_keys"] = sorted(parsed.keys())
        else:
            entry["body"] = parsed
            # Exact bytes as rendered by DRF's JSONRenderer (key order, compact
            # separators, non-ASCII kept as UTF-8).
            entry["body_raw"] = resp.content.decode("utf-8")
        if note:
            entry["note"] = note
        cases.append(entry)
        return parsed

    OBT, REF, VER, BL, PROT = ("/api/token/", "/api/token/refresh/", "/api/token/verify/",
                               "/api/token/blacklist/", "/api/protected/")

    # ---- obtain --------------------------------------------------------
    ok = run("obtain_ok", "POST", OBT, {"username": "ana", "password": ANA_PASSWORD}, keys_only=True)
    tok("refresh_1", ok["refresh"], "refresh token from obtain_ok (later rotated by refresh_ok, hence blacklisted)")
    tok("access_1", ok["access"], "access token from obtain_ok (valid)")
    claims = jwt.decode(ok["access"], options={"verify_signature": False})
    for k, v in legacy_claims(ana).items():
        assert claims[k] == v, (k, claims)
    run("obtain_bad_credentials", "POST", OBT, {"username": "ana", "password": "wrong-password"})
    run("obtain_missing_password", "POST", OBT, {"username": "ana"})
    run("obtain_missing_username", "POST", OBT, {"password": ANA_PASSWORD})
    run("obtain_empty_body", "POST", OBT, None,
        note="zero-length body with Content-Type: application/json")
    run("obtain_unknown_user", "POST", OBT, {"username": "nadie", "password": "x"}, legacy_list=False)
    run("obtain_inactive_user", "POST", OBT, {"username": "inactiva", "password": ANA_PASSWORD},
        legacy_list=False)
    run("obtain_empty_object", "POST", OBT, {}, legacy_list=False)
    run("obtain_blank_fields", "POST", OBT, {"username": "", "password": ""}, legacy_list=False)
    run("obtain_null_password", "POST", OBT, {"username": "ana", "password": None}, legacy_list=False)
    run("obtain_malformed_json", "POST", OBT, raw='{"username": "ana",', legacy_list=False)
    run("obtain_unsupported_media_type", "POST", OBT, raw="username=ana", content_type="text/plain",
        legacy_list=False)
    run("obtain_form_encoded_ok", "POST", OBT, {"username": "ana", "password": ANA_PASSWORD},
        content_type="application/x-www-form-urlencoded", keys_only=True, legacy_list=False)
    run("obtain_get_not_allowed", "GET", OBT, legacy_list=False)

    # ---- protected -----------------------------------------------------
    tok("expired_access", make_expired_access(ana, mod),
        "access token for ana signed with the right key, iat 2024-01-01T00:00:00Z, exp iat+480min")
    tok("wrong_signature_access", TokenBackend("HS256", signing_key=OTHER_KEY).encode(claims),
        "payload of access_1 signed with another key")
    tok("alg_none_access", jwt.encode(claims, None, algorithm="none"), "payload of access_1 with alg none")
    gone = AccessToken()
    gone["user_id"] = 4242
    tok("missing_user_access", str(gone), "valid access token whose user_id (4242) does not exist")
    tok("inactive_user_access", str(AccessToken.for_user(inactive)),
        "valid access token for an inactive user (id 43)")

    run("protected_ok", "GET", PROT, headers={"Authorization": "Bearer <access_1>"}, legacy_list=False,
        note="200 body is defined by this generator's view, not by legacy")
    run("protected_no_header", "GET", PROT)
    run("protected_garbage_token", "GET", PROT, headers={"Authorization": "Bearer garbage"})
    run("protected_refresh_as_access", "GET", PROT, headers={"Authorization": "Bearer <refresh_1>"})
    run("protected_expired_access", "GET", PROT, headers={"Authorization": "Bearer <expired_access>"})
    run("protected_bearer_no_token", "GET", PROT, headers={"Authorization": "Bearer"})
    run("protected_wrong_scheme", "GET", PROT, headers={"Authorization": "Token abc"})
    run("protected_wrong_signature", "GET", PROT, headers={"Authorization": "Bearer <wrong_signature_access>"},
        legacy_list=False)
    run("protected_alg_none", "GET", PROT, headers={"Authorization": "Bearer <alg_none_access>"},
        legacy_list=False)
    run("protected_lowercase_bearer", "GET", PROT, headers={"Authorization": "bearer <access_1>"},
        legacy_list=False)
    run("protected_bearer_three_parts", "GET", PROT, headers={"Authorization": "Bearer <access_1> extra"},
        legacy_list=False)
    run("protected_empty_header", "GET", PROT, headers={"Authorization": ""}, legacy_list=False)
    run("protected_missing_user", "GET", PROT, headers={"Authorization": "Bearer <missing_user_access>"},
        legacy_list=False)
    run("protected_inactive_user", "GET", PROT, headers={"Authorization": "Bearer <inactive_user_access>"},
        legacy_list=False)

    # ---- refresh -------------------------------------------------------
    run("refresh_garbage", "POST", REF, {"refresh": "garbage"})
    run("refresh_missing_field", "POST", REF, {}, legacy_list=False)
    rok = run("refresh_ok", "POST", REF, {"refresh": "<refresh_1>"}, keys_only=True)
    tok("refresh_2", rok["refresh"], "rotated refresh token returned by refresh_ok")
    tok("access_2", rok["access"], "access token returned by refresh_ok")
    run("refresh_rotated_blacklisted", "POST", REF, {"refresh": "<refresh_1>"})
    run("refresh_with_access", "POST", REF, {"refresh": "<access_1>"})
    tok("expired_refresh", make_expired_refresh(ana),
        "refresh token for ana, right key, iat 2024-01-01T00:00:00Z, exp iat+7d")
    run("refresh_expired", "POST", REF, {"refresh": "<expired_refresh>"}, legacy_list=False)

    # ---- verify --------------------------------------------------------
    run("verify_bad", "POST", VER, {"token": "garbage"})
    run("verify_ok", "POST", VER, {"token": "<access_1>"})
    run("verify_ok_refresh", "POST", VER, {"token": "<refresh_2>"}, legacy_list=False)
    run("verify_blacklisted_refresh", "POST", VER, {"token": "<refresh_1>"})
    run("verify_expired", "POST", VER, {"token": "<expired_access>"}, legacy_list=False)
    run("verify_missing_field", "POST", VER, {}, legacy_list=False)

    # ---- blacklist -----------------------------------------------------
    run("blacklist_ok", "POST", BL, {"refresh": "<refresh_2>"})
    run("blacklist_twice", "POST", BL, {"refresh": "<refresh_2>"})
    run("blacklist_garbage", "POST", BL, {"refresh": "garbage"})
    run("blacklist_with_access", "POST", BL, {"refresh": "<access_2>"}, legacy_list=False)
    run("blacklist_missing_field", "POST", BL, {}, legacy_list=False)
    run("refresh_after_blacklist", "POST", REF, {"refresh": "<refresh_2>"}, legacy_list=False)

    return {
        "generated_with": generated_with(),
        "description": (
            "Golden responses of the real DRF + simplejwt views, exercised in order through "
            "rest_framework.test.APIClient against an in-memory SQLite database migrated with "
            "call_command('migrate'). Cases run in the listed order and share state "
            "(refresh_ok rotates and blacklists <refresh_1>; blacklist_ok blacklists "
            "<refresh_2>). Strings <name> in request_body / request_headers stand for the "
            "live tokens described in token_placeholders. For *_ok cases that return "
            "tokens, body values are redacted to \"<jwt>\" and body_keys lists the keys; "
            "every other case also has body_raw, the exact response bytes (DRF key order, "
            "compact separators). allow is the Allow header of 405 responses. "
            "in_brief is false for extra cases beyond the originally requested list."
        ),
        "urls": {
            "TokenObtainPairView": OBT, "TokenRefreshView": REF, "TokenVerifyView": VER,
            "TokenBlacklistView": BL,
            "protected (APIView, JWTAuthentication, IsAuthenticated)": PROT,
        },
        "user": {"id": ana.id, "username": ana.username, "password": ANA_PASSWORD},
        "token_placeholders": legend,
        "cases": cases,
    }


# ---------------------------------------------------------------------------

def write_json(out_dir, name, obj):
    path = os.path.join(out_dir, name)
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()

    try:
        for m in ("django", "rest_framework", "rest_framework_simplejwt", "passlib", "bcrypt", "jwt"):
            importlib.import_module(m)
    except ImportError as e:
        sys.exit("%s\nInstall the Debian packages (see README.md) and run with /usr/bin/python3." % e)

    mod = configure_django()
    ana, inactive = create_users()

    write_json(args.out, "password_hashes.json", password_vectors())
    write_json(args.out, "simplejwt_tokens.json", simplejwt_tokens(ana, mod))
    write_json(args.out, "simplejwt_errors.json", simplejwt_errors(ana, inactive, mod))


if __name__ == "__main__":
    main()
