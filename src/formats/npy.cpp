#include "formats/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace frugal {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
    if (i + 1 < shape.size()) dims += " ";
    n *= shape[i];
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple
  // of 64 and ended by a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("%s: cannot open for writing", path.c_str());
  const char magic[] = "\x93NUMPY\x01\x00";
  out.write(magic, 8);
  uint16_t hl = uint16_t(header.size());
  out.write(reinterpret_cast<const char*>(&hl), 2);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(reinterpret_cast<const char*>(data), std::streamsize(n * 4));
  if (!out) fail("%s: write failed", path.c_str());
}

NpyArray read_npy_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("%s: cannot open", path.c_str());
  std::string buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (buf.size() < 10 || std::memcmp(buf.data(), "\x93NUMPY", 6) != 0) fail("%s: not a .npy file", path.c_str());
  size_t hl, off;
  if (buf[6] == 1) {
    hl = uint8_t(buf[8]) | size_t(uint8_t(buf[9])) << 8;
    off = 10;
  } else {
    if (buf.size() < 12) fail("%s: truncated header", path.c_str());
    hl = uint8_t(buf[8]) | size_t(uint8_t(buf[9])) << 8 | size_t(uint8_t(buf[10])) << 16 | size_t(uint8_t(buf[11])) << 24;
    off = 12;
  }
  if (off + hl > buf.size()) fail("%s: truncated header", path.c_str());
  std::string h = buf.substr(off, hl);
  bool f8 = h.find("'<f8'") != std::string::npos;
  if (!f8 && h.find("'<f4'") == std::string::npos) fail("%s: only little-endian float32/float64 arrays are supported", path.c_str());
  if (h.find("'fortran_order': False") == std::string::npos) fail("%s: Fortran order is not supported", path.c_str());
  auto lp = h.find('('), rp = h.find(')');
  if (lp == std::string::npos || rp == std::string::npos) fail("%s: no shape in header", path.c_str());
  NpyArray a;
  std::stringstream ss(h.substr(lp + 1, rp - lp - 1));
  std::string item;
  int64_t n = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    a.shape.push_back(std::stoll(item));
    n *= a.shape.back();
  }
  size_t es = f8 ? 8 : 4;
  if (buf.size() < off + hl + size_t(n) * es) fail("%s: truncated data", path.c_str());
  a.data.resize(size_t(n));
  const char* p = buf.data() + off + hl;
  if (f8) {
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, p + i * 8, 8);
      a.data[size_t(i)] = float(d);
    }
  } else {
    std::memcpy(a.data.data(), p, size_t(n) * 4);
  }
  return a;
}

}  // namespace frugal
