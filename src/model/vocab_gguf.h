// Tokenizer vocabulary <-> GGUF metadata (tokenizer.ggml.*, tokenizer.chat_template), with the
// keys and conventions of llama.cpp's converter.
#pragma once
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace frugal {

// Throws Error naming the key for a missing or malformed tokenizer.ggml.* entry.
Vocab vocab_from_gguf(const GgufFile& f);
void vocab_to_gguf(const Vocab& v, GgufWriter& w);

}  // namespace frugal
