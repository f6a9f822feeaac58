# sigverify container image: GitHub Docker action, GitLab CI job image, Jenkins docker agent.
#
# The base is pinned by digest. To update it, resolve the tag to its current index digest and replace it here:
#   skopeo inspect --raw docker://docker.io/library/python:3.11-slim-bookworm | sha256sum
#   (or: crane digest python:3.11-slim-bookworm / docker buildx imagetools inspect python:3.11-slim-bookworm)
# Any Debian-like base with python3 and the venv module works: --build-arg BASE_IMAGE=<ref@digest>.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# ---- build: wheels for the package and its dependencies, installed into a venv (no compilers needed) ----
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first, from pyproject.toml alone (a stub package stands in): this layer is reused until
# pyproject.toml changes, so editing the code rebuilds only the small layer below.
COPY pyproject.toml README.md ./
RUN mkdir sigverify \
 && touch sigverify/__init__.py \
 && python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --wheel-dir /wheels . \
 && rm -r sigverify build sigverify.egg-info /wheels/sigverify-*.whl
COPY sigverify/ sigverify/
RUN /opt/build/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && python3 -m venv /opt/sigverify \
 && /opt/sigverify/bin/pip install --no-index --find-links /wheels /wheels/sigverify-*.whl \
 && /opt/sigverify/bin/pip uninstall --yes pip setuptools \
 && /opt/sigverify/bin/python -I -m sigverify --version

# ---- final: the venv and the entrypoint, nothing else ----
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="sigverify" \
      org.opencontainers.image.description="CI gate that stops unsigned or wrongly signed container images" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH="/opt/sigverify/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/sigverify /opt/sigverify
COPY entrypoint.py /app/entrypoint.py
# uid 1001 is the `runner` user that owns the workspace on GitHub-hosted runners, so the action can write its
# reports there without running as root; group 0 lets arbitrary-uid platforms (OpenShift) share the home.
RUN useradd --uid 1001 --gid 0 --home-dir /home/sigverify --create-home --shell /usr/sbin/nologin sigverify
USER 1001:0
# No CMD: GitHub starts a Docker action without arguments, and that is how entrypoint.py knows to read INPUT_*.
ENTRYPOINT ["/opt/sigverify/bin/python", "/app/entrypoint.py"]
