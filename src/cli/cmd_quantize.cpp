// frugal quantize IN.gguf OUT.gguf TYPE: re-type every tensor of a model with the per-tensor
// policy llama-quantize uses (model/quant_policy.h), streaming, then print what changed.
#include <algorithm>
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"
#include "formats/gguf.h"
#include "model/gguf_retype.h"
#include "model/quant_policy.h"

namespace frugal::cli {

namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return strfmt("%.2f %s", b, units[u]);
}

// Tensors per target type with their bytes before and after, and bits per weight overall.
void print_summary(const std::vector<RetypedTensor>& plan) {
  struct Row {
    int64_t n = 0;
    double before = 0, after = 0;
  };
  std::map<std::string, Row> by_type;
  Row total;
  double params = 0;
  for (const auto& t : plan) {
    for (Row* r : {&by_type[dtype_name(t.to)], &total}) {
      r->n += 1;
      r->before += double(t.bytes_from);
      r->after += double(t.bytes_to);
    }
    params += double(t.n_elements());
  }
  std::printf("%-8s %8s %14s %14s\n", "type", "tensors", "before", "after");
  for (const auto& [name, r] : by_type)
    std::printf("%-8s %8lld %14s %14s\n", name.c_str(), (long long)r.n, human_bytes(r.before).c_str(),
                human_bytes(r.after).c_str());
  params = std::max(params, 1.0);
  std::printf("%-8s %8lld %14s %14s   %.2f -> %.2f bits/weight\n", "total", (long long)total.n,
              human_bytes(total.before).c_str(), human_bytes(total.after).c_str(), total.before * 8 / params,
              total.after * 8 / params);
}

const CommandHelp kHelp{
    "frugal quantize IN.gguf OUT.gguf TYPE",
    "Re-type a GGUF model's weights: TYPE is F32, F16, BF16, Q8_0, Q4_0, Q4_K_M or Q5_K_M (the\n"
    "_M mixes keep the sensitive tensors at higher precision, as llama.cpp's do). OUT is written\n"
    "to a temporary file and renamed, so a failure never leaves half a model.",
    {},
    "frugal quantize r1-1.5b-f16.gguf r1-1.5b-q4_k_m.gguf Q4_K_M"};

}  // namespace

int cmd_quantize(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  a.check_unused(3);
  const auto& pos = a.positional();
  if (pos.size() != 3)
    fail("usage: frugal quantize IN.gguf OUT.gguf TYPE   (TYPE: %s)", file_type_names());
  const std::string &in_path = pos[0], &out_path = pos[1];
  const std::optional<FileType> ft = parse_file_type(pos[2]);
  if (!ft) fail("unknown type '%s': expected one of %s", printable(pos[2]).c_str(), file_type_names());

  auto in = GgufFile::open(in_path);
  const double t0 = now_seconds();
  const std::vector<RetypedTensor> plan = write_retyped_gguf(*in, out_path, *ft);
  std::fprintf(stderr, "wrote %s (%s) in %.1f s\n", out_path.c_str(), ft->name.c_str(), now_seconds() - t0);
  print_summary(plan);
  return 0;
}

}  // namespace frugal::cli
