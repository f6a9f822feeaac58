# sigverify container image: GitHub Docker action, GitLab CI job image, Jenkins docker agent.
#
# The base is pinned by digest. To update it, resolve the tag to its current index digest and replace it here:
#   skopeo inspect --raw docker://docker.io/library/python:3.11-slim-bookworm | sha256sum
#   (or: crane digest python:3.11-slim-bookworm / docker buildx imagetools inspect python:3.11-slim-bookworm)
# Any Debian-like base with python3 and the venv module works: --build-arg BASE_IMAGE=<ref@digest>.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# ---- build: the hash-locked dependencies (wheels only, --require-hashes), then sigverify itself (--no-deps) ----
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first, from the lock alone: this layer is reused until requirements/ changes.
COPY requirements/runtime.txt requirements/build.txt requirements/
RUN python3 -m venv /opt/sigverify \
 && /opt/sigverify/bin/pip install --require-hashes --no-deps --only-binary ':all:' \
      -r requirements/runtime.txt -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY sigverify/ sigverify/
RUN /opt/sigverify/bin/pip install --no-deps --no-build-isolation --no-index . \
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
