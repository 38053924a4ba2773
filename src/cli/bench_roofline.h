// `frugal bench`'s roofline: generation speed against what the measured memory bandwidth
// allows, with the probe's figures for the JSON and the table, and a loud warning when the
// ratio is impossible.
#pragma once
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/membw.h"

namespace frugal::cli {

struct Roofline {
  double bw_gb_s = 0;  // the read bandwidth the roofline divides by
  double tok_s = 0;    // bw / weight bytes per token
  double frac = 0, frac_min = 0, frac_max = 0;  // tg / roofline over the repetitions
  bool cache_resident = false;  // a token's weights fit in the last-level cache: no DRAM bound
};

Roofline roofline_of(const kernels::MembwResult& before, const kernels::MembwResult& after, double bytes_per_tok,
                     const std::vector<double>& tg_tok_s);
// On stderr (the JSON goes to stdout): a fraction above 100 %, or a bandwidth that moved
// between the two probes.
void warn_about_roofline(const Roofline& r, double bytes_per_tok, const kernels::MembwResult& before,
                         const kernels::MembwResult& after);
void add_roofline_json(nlohmann::json& j, const Roofline& r, const kernels::MembwResult& before,
                       const kernels::MembwResult& after);
void print_roofline(const Roofline& r, double bytes_per_tok, const kernels::MembwResult& before,
                    const kernels::MembwResult& after, int threads);

// `frugal bench --membw`: the probe alone (bytes 0: the default size), as JSON or a line.
int bench_membw(int threads, size_t bytes, bool json);

}  // namespace frugal::cli
