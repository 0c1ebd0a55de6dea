#include <xgrad/core/safetensors.hpp>

#include <xgrad/core/atomic_file.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace xg {

namespace {
using nlohmann::json;

FormatError bad(const std::string& path, const std::string& why) {
  return FormatError(fmt::format("{}: not a valid safetensors file: {}", path, why));
}

const char* st_dtype(DType d) {
  switch (d) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || header.contains(name))
      throw Error(fmt::format("save_safetensors {}: duplicate or reserved tensor name '{}'", path, name));
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string head = header.dump();
  head.append((8 - head.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the format allows
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((static_cast<uint64_t>(head.size()) >> (8 * i)) & 0xff);

  AtomicFile file(path);
  file.write(len, 8);
  file.write(head);
  for (const auto& entry : tensors) {  // x86-64 and aarch64 are little-endian: raw bytes are the format
    const Tensor& t = entry.second;
    const void* p = dispatch_all(t.dtype(), [&](auto tag) -> const void* {
      using T = typename decltype(tag)::type;
      return t.data<T>();
    });
    file.write(p, static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  }
  file.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(fmt::format("{}: cannot open checkpoint: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: is not a regular file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open checkpoint", path));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) throw bad(path, fmt::format("{} bytes, shorter than the 8-byte header length", file_size));
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (header_len > file_size - 8)
    throw bad(path, fmt::format("header length {} exceeds the {} bytes after it", header_len, file_size - 8));
  if (header_len > (100u << 20)) throw bad(path, fmt::format("header length {} is over 100 MB", header_len));
  std::string head(static_cast<std::size_t>(header_len), '\0');
  in.read(head.data(), static_cast<std::streamsize>(header_len));
  json header;
  try {
    header = json::parse(head);
  } catch (const json::exception& e) {
    throw bad(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw bad(path, "header is not a JSON object");
  const uint64_t data_size = file_size - 8 - header_len;

  SafetensorsFile out;
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw bad(path, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw bad(path, fmt::format("__metadata__ value '{}' is not a string", m.key()));
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto fail = [&](const std::string& why) { return bad(path, fmt::format("tensor '{}': {}", name, why)); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw fail("needs dtype, shape and data_offsets");
    if (!v["dtype"].is_string()) throw fail("dtype is not a string");
    const std::string dt = v["dtype"].get<std::string>();
    Entry e;
    e.name = name;
    if (dt == "F32") e.dtype = DType::Float32;
    else if (dt == "F64") e.dtype = DType::Float64;
    else if (dt == "I64") e.dtype = DType::Int64;
    else if (dt == "BOOL") e.dtype = DType::Bool;
    else throw fail(fmt::format("unsupported dtype '{}' (xgrad reads F32, F64, I64 and BOOL)", dt));
    if (!v["shape"].is_array()) throw fail("shape is not an array");
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw fail("shape holds a value that is not a non-negative integer");
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > data_size / dim) numel = data_size + 1;  // saturate: cannot fit anyway
      else numel *= dim;
      e.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(dim, INT64_MAX)));
    }
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw fail("data_offsets is not a pair of non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      throw fail(fmt::format("data_offsets [{}, {}] outside the {} data bytes", e.begin, e.end, data_size));
    if (numel > data_size || e.end - e.begin != numel * dtype_size(e.dtype))
      throw fail(fmt::format("shape {} of {} needs {} bytes but data_offsets span {}", shape_str(e.shape), dt,
                             numel > data_size ? std::string("more than the file's") : std::to_string(numel * dtype_size(e.dtype)),
                             e.end - e.begin));
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (entries[i].begin < entries[i - 1].end)
      throw bad(path, fmt::format("tensors '{}' and '{}' overlap", entries[i - 1].name, entries[i].name));
  const std::streamoff data_start = static_cast<std::streamoff>(8 + header_len);
  for (const auto& e : entries) {
    Tensor t = Tensor::uninitialized(e.shape, e.dtype);
    char* p = dispatch_all(e.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      return reinterpret_cast<char*>(t.data<T>());
    });
    in.seekg(data_start + static_cast<std::streamoff>(e.begin));
    in.read(p, static_cast<std::streamsize>(e.end - e.begin));
    if (!in) throw bad(path, fmt::format("tensor '{}': data could not be read (truncated?)", e.name));
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace xg
