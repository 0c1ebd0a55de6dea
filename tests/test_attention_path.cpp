// Which implementation computes a MultiHeadAttention call: choose_path's table, and each row's
// path actually taken by MultiHeadAttention (every path gives the same function; the tests of
// each implementation check that).
#include <string>
#include <vector>

#include "helpers.hpp"
#include <xgrad/nn/detail/attention_path.hpp>

using namespace xg;
using nn::AttentionKind;
using nn::detail::AttentionCall;
using nn::detail::AttentionPath;
using nn::detail::choose_path;

namespace {
struct Row {
  std::string what;
  AttentionCall call;
  AttentionPath expected;
};

AttentionCall call_with(void (*edit)(AttentionCall&)) {
  AttentionCall c;
  c.config.memory_efficient_from = 512;
  c.query_length = 10, c.key_length = 10;
  edit(c);
  return c;
}
}  // namespace

TEST_CASE("attention path: one table of what each call computes with", "[attention][path]") {
  const std::vector<Row> rows{
      {"forward, standard", call_with([](AttentionCall& c) { c.from_inputs = true; }), AttentionPath::HeadsInPlace},
      {"forward, causal and dropout", call_with([](AttentionCall& c) { c.from_inputs = true, c.causal = true, c.dropout = 0.1; }),
       AttentionPath::HeadsInPlace},
      {"forward, an attn_mask", call_with([](AttentionCall& c) { c.from_inputs = true, c.attn_mask = true; }),
       AttentionPath::HeadsInPlace},
      {"forward, causal and an attn_mask", call_with([](AttentionCall& c) { c.from_inputs = true, c.attn_mask = c.causal = true; }),
       AttentionPath::Standard},
      {"forward, rotary", call_with([](AttentionCall& c) { c.from_inputs = true, c.config.rotary = true; }), AttentionPath::Standard},
      {"forward, grouped heads", call_with([](AttentionCall& c) { c.from_inputs = true, c.grouped = true; }), AttentionPath::Standard},
      {"forward, dropout 1", call_with([](AttentionCall& c) { c.from_inputs = true, c.dropout = 1.0; }), AttentionPath::Standard},
      {"forward, 512 keys", call_with([](AttentionCall& c) { c.from_inputs = true, c.key_length = 512; }), AttentionPath::Standard},
      {"forward, 511 keys", call_with([](AttentionCall& c) { c.from_inputs = true, c.key_length = 511; }), AttentionPath::HeadsInPlace},
      {"forward, window", call_with([](AttentionCall& c) { c.from_inputs = true, c.config.kind = AttentionKind::Window; }),
       AttentionPath::Window},
      {"forward, linear", call_with([](AttentionCall& c) { c.from_inputs = true, c.config.kind = AttentionKind::Linear; }),
       AttentionPath::Linear},
      {"forward, recorded", call_with([](AttentionCall& c) { c.from_inputs = true, c.recording = true; }), AttentionPath::Standard},
      {"forward, recorded, window", call_with([](AttentionCall& c) { c.from_inputs = true, c.recording = true, c.config.kind = AttentionKind::Window; }),
       AttentionPath::Window},
      {"attend, cache, one query, recorded",
       call_with([](AttentionCall& c) { c.buffered_cache = true, c.query_length = 1, c.recording = true; }), AttentionPath::Standard},
      {"attend, 512 keys, recorded", call_with([](AttentionCall& c) { c.key_length = 512, c.recording = true; }), AttentionPath::Standard},
      {"attend, projected keys", call_with([](AttentionCall&) {}), AttentionPath::Standard},
      {"attend, one query on a growing cache",
       call_with([](AttentionCall& c) { c.buffered_cache = true, c.query_length = 1; }), AttentionPath::CachedQuery},
      {"attend, cache, query needs a gradient",
       call_with([](AttentionCall& c) { c.buffered_cache = true, c.query_length = 1, c.query_needs_grad = true; }),
       AttentionPath::Standard},
      {"attend, cache, two queries", call_with([](AttentionCall& c) { c.buffered_cache = true, c.query_length = 2; }),
       AttentionPath::Standard},
      {"attend, cache, dropout", call_with([](AttentionCall& c) { c.buffered_cache = true, c.query_length = 1, c.dropout = 0.1; }),
       AttentionPath::Standard},
      {"attend, cache, 512 keys",
       call_with([](AttentionCall& c) { c.buffered_cache = true, c.query_length = 1, c.key_length = 512; }),
       AttentionPath::MemoryEfficient},
      {"attend, 512 keys", call_with([](AttentionCall& c) { c.key_length = 512; }), AttentionPath::MemoryEfficient},
      {"attend, 512 keys, causal", call_with([](AttentionCall& c) { c.key_length = 512, c.causal = true; }),
       AttentionPath::MemoryEfficient},
      {"attend, 512 keys, an attn_mask", call_with([](AttentionCall& c) { c.key_length = 512, c.attn_mask = true; }),
       AttentionPath::Standard},
      {"attend, 512 keys, dropout", call_with([](AttentionCall& c) { c.key_length = 512, c.dropout = 0.1; }),
       AttentionPath::Standard},
      {"attend, 512 keys, threshold off",
       call_with([](AttentionCall& c) { c.key_length = 512, c.config.memory_efficient_from = 0; }), AttentionPath::Standard},
      {"attend, window cache", call_with([](AttentionCall& c) {
         c.buffered_cache = true, c.query_length = 1, c.config.kind = AttentionKind::Window;
       }), AttentionPath::Window},
      {"attend, linear, 512 keys", call_with([](AttentionCall& c) { c.key_length = 512, c.config.kind = AttentionKind::Linear; }),
       AttentionPath::Linear},
  };
  for (const Row& row : rows) {
    INFO(row.what << ": got " << nn::detail::to_string(choose_path(row.call)) << ", expected "
                  << nn::detail::to_string(row.expected));
    CHECK(choose_path(row.call) == row.expected);
  }
}

TEST_CASE("attention path: forward's in-place heads and attend's projected heads give one function",
          "[attention][path]") {
  // forward() takes HeadsInPlace here; attend() on the projected keys takes Standard: same output.
  manual_seed(7);
  nn::MultiHeadAttention mha(8, 2);
  mha.to(DType::Float64);
  const Tensor q = xgtest::seq({2, 3, 8}, 0.3), kv = xgtest::seq({2, 5, 8}, 0.7);
  const nn::AttentionOutput a = mha.forward(q, kv, kv, Tensor(), Tensor(), true);
  const nn::AttentionOutput b = mha.attend(q, mha.project_key_values(kv, kv), Tensor(), Tensor(), true);
  xgtest::require_close(a.context, b.context.to_vector(), 1e-13);
  xgtest::require_close(a.weights, b.weights.to_vector(), 1e-13);
}
