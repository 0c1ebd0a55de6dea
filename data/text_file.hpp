#pragma once
/// \file
/// File helpers shared by the data readers: whole-file reads with clear errors, UTF-8 checks.
#include <iosfwd>
#include <string>
#include <vector>

namespace xg::data {

/// Reads `path` as lines (without the `\n`; a trailing `\r` is removed). Errors name the path:
/// missing, a directory, unreadable.
std::vector<std::string> read_lines(const std::string& path);
/// The same from a stream (standard input).
std::vector<std::string> read_lines(std::istream& in, const std::string& name);
/// Line ends: a trailing '`\r`' (CRLF files) is removed from every line, and a UTF-8 byte-order mark
/// from the first (Windows editors write one; it would otherwise become part of the first word).
bool valid_utf8(const std::string& s);

}  // namespace xg::data
