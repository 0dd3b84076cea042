# The app image, built offline from an unpacked bundle (docs/install-airgapped.md): copy the
# bundle's wheels/ into offline_wheels/wheels/; no package index is reached during the build.
FROM python:3.11-slim
ENV PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False DO_NOT_TRACK=1
WORKDIR /opt/plantops
COPY offline_wheels/wheels/ /tmp/wheels/
COPY offline_wheels/requirements-app.lock /tmp/
COPY samples/ samples/
# The lock is the complete tested set; plantops itself comes as the bundle's wheel.
RUN pip install --no-index --find-links /tmp/wheels --no-deps -r /tmp/requirements-app.lock \
 && pip install --no-index --no-deps /tmp/wheels/plantops-*.whl \
 && rm -rf /tmp/wheels
RUN useradd --system --uid 10001 --home /data plantops && mkdir -p /data && chown plantops /data
USER plantops
EXPOSE 7860
CMD ["plantops", "ui"]
