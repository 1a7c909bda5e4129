"""llama.cpp's OpenAI-compatible server (llama_cpp.server), without ggml's "extra buffer
types" (the AMX/repacked CPU buffers).

Why: llama.cpp compiled on a machine whose CPU advertises AMX uses it for matrix
products; on some virtual machines the instruction then faults (`ldtilecfg`: a general
protection fault in ggml_backend_amx_mul_mat, the server dies on its first chat
completion — seen 2026-12-02 on this project's kind of machine). Plain CPU buffers work
everywhere and the test model is tiny. Arguments are those of `python -m llama_cpp.server`.
"""

import runpy

import llama_cpp
import llama_cpp.llama_cpp as low_level

_default_params = low_level.llama_model_default_params


def _params_without_extra_buffers():
    params = _default_params()
    params.use_extra_bufts = False
    return params


low_level.llama_model_default_params = _params_without_extra_buffers
llama_cpp.llama_model_default_params = _params_without_extra_buffers
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
