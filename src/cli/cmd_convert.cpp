// frugal convert DIR -o OUT.gguf --type TYPE: a Hugging Face folder (BF16/F16/F32 or DeepSeek's
// FP8) to a GGUF file in llama.cpp's layout, names and metadata, so llama.cpp and other GGUF
// tools read it too. Float weights are read in place and rounded once, as the file is streamed
// out; FP8 weights are dequantized straight into the target type at load (the converted model
// then sits in memory until written).
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "formats/gguf.h"
#include "model/gguf_retype.h"
#include "model/hf_folder.h"
#include "model/mla_layout.h"
#include "model/quant_policy.h"

namespace frugal::cli {

namespace {
const CommandHelp kHelp{
    "frugal convert HF_DIR -o OUT.gguf [--type TYPE]",
    "Convert a Hugging Face model folder (config.json, safetensors, tokenizer.json; FP8\n"
    "block-scaled DeepSeek weights included) to one GGUF file that frugal and llama.cpp load.",
    {{"options",
      {{"-o, --output", "FILE", "the GGUF to write"},
       {"--type", "TYPE", "weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q5_K_M [BF16]"}}}},
    "frugal convert ./DeepSeek-R1-Distill-Qwen-1.5B -o r1-1.5b-q8_0.gguf --type Q8_0"};
}  // namespace

int cmd_convert(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  std::string out = a.get({"-o", "--output"});
  std::string type = a.get({"--type"}, "BF16");
  a.check_unused(1);
  const auto& pos = a.positional();
  if (pos.size() != 1 || out.empty())
    fail("usage: frugal convert HF_DIR -o OUT.gguf [--type TYPE]   (TYPE: %s; default BF16)", file_type_names());
  const std::string& dir = pos[0];
  const std::optional<FileType> ft = parse_file_type(type);
  if (!ft) fail("--type %s: expected one of %s", type.c_str(), file_type_names());
  if (!is_hf_folder(dir)) fail("%s: not a Hugging Face model folder (no config.json)", dir.c_str());

  HfLoadOptions lo;
  lo.fp8_as = ft->name;
  // DeepSeek's kv_b_proj is written split into attn_k_b / attn_v_b, as llama.cpp's converter
  // does, so llama.cpp reads the file (from FP8 to a block type that re-rounds kv_b once more).
  std::shared_ptr<GgufFile> img = split_mla_kv_b(open_hf_folder(dir, lo));
  if (!img->find("tokenizer.ggml.model"))
    std::fprintf(stderr,
                 "warning: %s has no tokenizer frugal can describe in GGUF (tokenizer.json missing or its "
                 "pre-tokenizer unknown): the file will need an external tokenizer\n",
                 dir.c_str());
  RetypeOptions ro;
  const auto plan = write_retyped_gguf(*img, out, *ft, ro);
  size_t bytes = 0;
  for (const auto& t : plan) bytes += t.bytes_to;
  std::fprintf(stderr, "wrote %s: %s, %zu tensors, %.2f GB\n", out.c_str(), img->architecture().c_str(), plan.size(),
               double(bytes) / 1e9);
  return 0;
}

}  // namespace frugal::cli
