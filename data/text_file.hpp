#pragma once
// File helpers shared by the data readers: whole-file reads with clear errors, UTF-8 checks.
#include <string>
#include <vector>

namespace xg::data {

// Reads `path` as lines (without '\n'; a trailing '\r' is removed). Errors name the path:
// missing, a directory, unreadable.
std::vector<std::string> read_lines(const std::string& path);
bool valid_utf8(const std::string& s);

}  // namespace xg::data
