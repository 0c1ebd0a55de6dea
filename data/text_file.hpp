#pragma once
/// \file
/// File helpers shared by the data readers: whole-file reads with clear errors, UTF-8 checks.
#include <iosfwd>
#include <string>
#include <vector>

namespace xg::data {

/// Reads `path` as lines. Line ends: the `\n` and a trailing `\r` (CRLF files) are removed from
/// every line, and a UTF-8 byte-order mark from the first (Windows editors write one; it would
/// otherwise become part of the first word). Errors name the path: missing, a directory,
/// unreadable.
std::vector<std::string> read_lines(const std::string& path);
/// The same from a stream (standard input).
std::vector<std::string> read_lines(std::istream& in, const std::string& name);
/// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& s);
/// `s` with every Unicode space separator (U+00A0 no-break space, U+1680, U+2000-U+200A,
/// U+202F narrow no-break space, U+205F, U+3000) replaced by an ASCII space and every zero-width
/// no-break space (U+FEFF) inside a line removed; `s` must be valid UTF-8. French typography puts
/// no-break spaces before ":;!?", which would otherwise glue punctuation to words.
std::string normalize_spaces(const std::string& s);

}  // namespace xg::data
