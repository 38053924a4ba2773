#include "train/params.h"

#include <algorithm>

#include "core/error.h"

namespace frugal::train {

Param& ParamSet::add(const std::string& name, std::vector<int64_t> ne, bool decay, bool trainable) {
  if (index_.count(name)) fail("internal: parameter '%s' added twice", name.c_str());
  auto p = std::make_unique<Param>();
  p->name = name;
  p->ne = std::move(ne);
  p->decay = decay;
  p->trainable = trainable;
  p->w.assign(size_t(p->numel()), 0.f);
  p->g.assign(size_t(p->numel()), 0.f);
  index_[name] = list_.size();
  list_.push_back(std::move(p));
  return *list_.back();
}

Param* ParamSet::find(const std::string& name) {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : list_[it->second].get();
}

Param& ParamSet::get(const std::string& name) {
  Param* p = find(name);
  if (!p) fail("internal: no parameter '%s'", name.c_str());
  return *p;
}

void ParamSet::zero_grad() {
  for (auto& p : list_) std::fill(p->g.begin(), p->g.end(), 0.f);
}

int64_t ParamSet::count() const {
  int64_t n = 0;
  for (const auto& p : list_)
    if (p->trainable) n += p->numel();
  return n;
}

void ParamSet::copy_values_from(const ParamSet& other) {
  for (auto& p : list_) {
    const auto it = other.index_.find(p->name);
    if (it == other.index_.end()) fail("parameter '%s' missing", p->name.c_str());
    const Param& q = *other.list_[it->second];
    if (q.ne != p->ne) fail("parameter '%s' has another shape", p->name.c_str());
    p->w = q.w;
  }
}

}  // namespace frugal::train
