// Safetensors checkpoints: round trip, strict loading, corrupt files, and a Python reader.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "helpers.hpp"

using namespace xg;
using namespace xg::nn;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(XGRAD_BINARY_DIR) / "test_scratch";
  fs::create_directories(dir);
  return dir / name;
}

struct TinyModel : Module {
  std::shared_ptr<Linear> proj;
  std::shared_ptr<GRU> rnn;
  std::shared_ptr<PositionalEncoding> pos;
  TinyModel(int64_t hidden) : Module("TinyModel") {
    proj = register_module("proj", std::make_shared<Linear>(3, hidden));
    rnn = register_module("rnn", std::make_shared<GRU>(hidden, hidden));
    pos = register_module("pos", std::make_shared<PositionalEncoding>(hidden, 4));
  }
};

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 512> buf{};
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  REQUIRE(pclose(p) == 0);
  return out;
}
}  // namespace

TEST_CASE("checkpoint round trip is bit-exact", "[checkpoint]") {
  manual_seed(1);
  TinyModel a(4);
  const auto path = scratch("roundtrip.safetensors").string();
  save_checkpoint(a, path, {{"optim.step", scalar(7)}}, {{"model", "tiny"}});
  manual_seed(2);
  TinyModel b(4);
  const auto rest = load_checkpoint(b, path, {"optim."});
  const auto sa = a.state(), sb = b.state();
  REQUIRE(sa.size() == sb.size());
  for (std::size_t i = 0; i < sa.size(); ++i) CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());
  REQUIRE(rest.tensors.size() == 1);
  CHECK(rest.tensors[0].first == "optim.step");
  CHECK(rest.metadata.at("model") == "tiny");
  CHECK_FALSE(fs::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST_CASE("loading into a different model names every mismatched tensor", "[checkpoint]") {
  TinyModel a(4), b(5);
  const auto path = scratch("mismatch.safetensors").string();
  save_checkpoint(a, path, {{"stray", scalar(1)}});
  const auto before = b.proj->weight.to_vector();
  try {
    load_checkpoint(b, path);
    FAIL("load should have thrown");
  } catch (const FormatError& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Contains("'proj.weight' is [4, 3] float32 in the file but [5, 3] float32 in the model"));
    CHECK_THAT(m, Contains("rnn.weight_hh_l0"));
    CHECK_THAT(m, Contains("unexpected 'stray'"));
  }
  CHECK(b.proj->weight.to_vector() == before);  // nothing partially loaded
  Linear lin(3, 4);
  CHECK_THROWS_WITH(load_checkpoint(lin, path), Contains("missing 'bias'") || Contains("unexpected"));
}

TEST_CASE("truncated and corrupt checkpoints are rejected with a clear error", "[checkpoint]") {
  Linear lin(3, 2);
  const auto path = scratch("good.safetensors").string();
  save_checkpoint(lin, path);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto bad = scratch("bad.safetensors").string();
  auto write = [&](const std::string& content) {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << content;
  };
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {  // every truncation point
    write(bytes.substr(0, cut));
    INFO("truncated at " << cut);
    CHECK_THROWS_AS(load_checkpoint(lin, bad), FormatError);
  }
  auto with_header = [&](const std::string& json, std::size_t data_bytes) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
    return s + json + std::string(data_bytes, '\0');
  };
  write(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
  CHECK_THROWS_WITH(load_safetensors(bad), Contains("overlap"));
  write(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,80]}})", 8));
  CHECK_THROWS_WITH(load_safetensors(bad), Contains("outside"));
  write(with_header(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8));
  CHECK_THROWS_WITH(load_safetensors(bad), Contains("unsupported dtype 'Q7'"));
  write(with_header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8));
  CHECK_THROWS_WITH(load_safetensors(bad), Contains("'a'"));
  write(with_header(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8));
  CHECK_THROWS_AS(load_safetensors(bad), FormatError);
  write(with_header(R"({"a": nonsense)", 0));
  CHECK_THROWS_WITH(load_safetensors(bad), Contains("not valid JSON"));
  std::string huge = bytes;
  huge[7] = 0x7f;  // header length far beyond the file
  write(huge);
  CHECK_THROWS_WITH(load_safetensors(bad), Contains("exceeds"));
  CHECK_THROWS_WITH(load_safetensors(scratch("does-not-exist").string()), Contains("cannot open"));
  CHECK_THROWS_WITH(load_safetensors(scratch("").string()), Contains("not a regular file"));
}

TEST_CASE("a checkpoint written by xgrad is read by numpy with the standard library", "[checkpoint][python]") {
  manual_seed(3);
  TinyModel m(3);
  const auto path = scratch("for_numpy.safetensors").string();
  save_checkpoint(m, path, {{"double", Tensor::from_vector({1.5, -2.25}, {2}, DType::Float64)}}, {{"k", "v"}});
  const std::string out = run("/usr/bin/python3 " XGRAD_SOURCE_DIR "/tests/reference/read_safetensors.py " + path);
  std::map<std::string, std::string> lines;
  std::istringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) lines[line.substr(0, line.find(' '))] = line;
  auto state = m.state();
  state.emplace_back("double", Tensor::from_vector({1.5, -2.25}, {2}, DType::Float64));
  for (auto& [name, t] : state) {
    INFO(name);
    REQUIRE(lines.count(name));
    std::istringstream ls(lines[name]);
    std::string n, shape;
    double total, first;
    ls >> n >> shape >> total >> first;
    double expect = 0;
    for (double v : t.to_vector()) expect += v;
    CHECK(total == Approx(expect).margin(1e-6));
    CHECK(first == Approx(t.to_vector()[0]).margin(1e-7));
  }
  CHECK_THAT(lines["metadata"], Contains("\"k\": \"v\""));
}
