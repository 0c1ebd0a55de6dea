#include <xgrad/data/text_file.hpp>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <istream>
#include <sys/stat.h>

#include <xgrad/core/errors.hpp>

namespace xg::data {

std::vector<std::string> read_lines(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw Error(fmt::format("{}: is a directory, not a file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open for reading", path));
  return read_lines(in, path);
}

std::vector<std::string> read_lines(std::istream& in, const std::string& name) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lines.empty() && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    lines.push_back(std::move(line));
  }
  if (in.bad()) throw Error(fmt::format("{}: read error", name));
  return lines;
}

bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    std::size_t len;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07;
    else return false;
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

std::string normalize_spaces(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const auto byte = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  for (std::size_t i = 0; i < s.size();) {
    const unsigned b0 = byte(i), b1 = byte(i + 1), b2 = byte(i + 2);
    if (b0 == 0xc2 && b1 == 0xa0) {  // U+00A0
      out += ' ', i += 2;
    } else if ((b0 == 0xe1 && b1 == 0x9a && b2 == 0x80) ||                        // U+1680
               (b0 == 0xe2 && b1 == 0x80 && ((b2 >= 0x80 && b2 <= 0x8a) || b2 == 0xaf)) ||  // U+2000-200A, U+202F
               (b0 == 0xe2 && b1 == 0x81 && b2 == 0x9f) ||                        // U+205F
               (b0 == 0xe3 && b1 == 0x80 && b2 == 0x80)) {                        // U+3000
      out += ' ', i += 3;
    } else if (b0 == 0xef && b1 == 0xbb && b2 == 0xbf) {  // U+FEFF
      i += 3;
    } else {
      out += s[i++];
    }
  }
  return out;
}

}  // namespace xg::data
