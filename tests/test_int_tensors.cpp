// Integer and bool tensors: ids, targets, masks and argmax results as tensors (DType::Int64,
// DType::Bool), through the data-movement ops and into the ops that read ids and masks.
#include <cstdio>
#include <sstream>

#include "helpers.hpp"

using namespace xg;
using Catch::Matchers::Contains;

namespace {
std::vector<int64_t> ints(const Tensor& t) { return t.to_ints(); }
}  // namespace

TEST_CASE("int64 and bool tensors: creation, conversion, printing", "[int]") {
  const Tensor ids = Tensor::from_ints({3, 1, 4, 1, 5, 9}, {2, 3});
  CHECK(ids.dtype() == DType::Int64);
  CHECK(ids.shape() == Shape{2, 3});
  CHECK(ints(ids) == std::vector<int64_t>{3, 1, 4, 1, 5, 9});
  CHECK(ids.to_vector() == std::vector<double>{3, 1, 4, 1, 5, 9});
  CHECK(select(select(ids, 0, 1), 0, 2).item() == 9.0);
  std::ostringstream printed;
  printed << ids;
  CHECK(printed.str() ==
        "Tensor(shape=[2, 3], dtype=int64, [3, 1, 4, 1, 5, 9])");

  // float -> int64 truncates toward zero, as in torch; -> bool is "non-zero"
  const Tensor f = Tensor::from_vector({-1.7, -0.2, 0.0, 0.5, 2.9}, {5});
  CHECK(ints(f.to(DType::Int64)) == std::vector<int64_t>{-1, 0, 0, 0, 2});
  CHECK(ints(f.to(DType::Bool)) == std::vector<int64_t>{1, 1, 0, 1, 1});
  CHECK(Tensor::from_ints({0, 7, -2}, {3}, DType::Bool).to_ints() == std::vector<int64_t>{0, 1, 1});
  CHECK(ids.to(DType::Float64).to_vector() == std::vector<double>{3, 1, 4, 1, 5, 9});
  CHECK(full({2}, 5.0, DType::Int64).to_ints() == std::vector<int64_t>{5, 5});
  CHECK(arange(0, 4, 1, DType::Int64).to_ints() == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(zeros({3}, DType::Bool).to_ints() == std::vector<int64_t>{0, 0, 0});

  // no silent wrong answers
  CHECK_THROWS_WITH(f.to_ints(), Contains("element 0") && Contains("not an integer"));
  CHECK_THROWS_WITH(Tensor::from_vector({std::nan("")}, {1}).to(DType::Int64), Contains("no int64 counterpart"));
  Tensor idc = ids.clone();
  CHECK_THROWS_AS(idc.requires_grad_(), AutogradError);
  CHECK_THROWS_WITH(idc.requires_grad_(), Contains("only floating-point") && Contains("int64 [2, 3]"));
  CHECK_THROWS_WITH(Tensor::from_ints({1, 2}, {3}), Contains("2 values do not fill shape [3]"));
  // A float leaf converted to int64 leaves the graph: the ids carry no gradient.
  const Tensor w = xgtest::leaf(Tensor::from_vector({1.0, 2.0}, {2}));
  CHECK_FALSE(w.to(DType::Int64).requires_grad());
}

TEST_CASE("int64 tensors move through the shape ops unchanged", "[int]") {
  const Tensor ids = Tensor::from_ints({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  CHECK(ints(slice(ids, 1, 1, 3)) == std::vector<int64_t>{1, 2, 5, 6, 9, 10});
  CHECK(ints(narrow(ids, 0, 1, 2)) == std::vector<int64_t>{4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(ints(transpose(ids, 0, 1)) == std::vector<int64_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(ints(reshape(ids, {2, 6})) == ints(ids));
  CHECK(ints(concat({ids, ids}, 0)).size() == 24);
  CHECK(stack({select(ids, 1, 0), select(ids, 1, 3)}, 1).shape() == Shape{3, 2});
  CHECK(ints(stack({select(ids, 1, 0), select(ids, 1, 3)}, 1)) == std::vector<int64_t>{0, 3, 4, 7, 8, 11});
  CHECK(ints(index_select(ids, 0, Tensor::from_ints({2, 0}, {2}))) ==
        std::vector<int64_t>{8, 9, 10, 11, 0, 1, 2, 3});
  CHECK(ints(gather(ids, 1, Tensor::from_ints({3, 0, 1}, {3, 1}))) == std::vector<int64_t>{3, 4, 9});
  CHECK_THROWS_WITH(concat({ids, ids.to(DType::Float32)}, 0), Contains("int64") && Contains("float32"));
}

TEST_CASE("comparisons and logic give bool masks, sums of masks count", "[int]") {
  const Tensor ids = Tensor::from_ints({5, 0, 0, 7, 2, 0}, {2, 3});
  const Tensor pad = eq(ids, 0.0);
  CHECK(pad.dtype() == DType::Bool);
  CHECK(ints(pad) == std::vector<int64_t>{0, 1, 1, 0, 0, 1});
  CHECK(ints(ne(ids, 0.0)) == std::vector<int64_t>{1, 0, 0, 1, 1, 0});
  CHECK(ints(lt(ids, 2.5)) == std::vector<int64_t>{0, 1, 1, 0, 1, 1});
  CHECK(ints(ge(ids, 5.0)) == std::vector<int64_t>{1, 0, 0, 1, 0, 0});
  // tensor-tensor forms broadcast: (2,3) against (3)
  const Tensor row = Tensor::from_ints({5, 0, 1}, {3});
  CHECK(ints(eq(ids, row)) == std::vector<int64_t>{1, 1, 0, 0, 0, 0});
  CHECK(ints(gt(ids, row)) == std::vector<int64_t>{0, 0, 0, 1, 1, 0});
  CHECK(ints(le(ids, row)) == std::vector<int64_t>{1, 1, 1, 0, 0, 1});
  CHECK(ints(logical_not(pad)) == ints(ne(ids, 0.0)));
  CHECK(ints(logical_and(pad, lt(ids, 1.0))) == ints(pad));
  CHECK(ints(logical_or(pad, eq(ids, 7.0))) == std::vector<int64_t>{0, 1, 1, 1, 0, 1});
  CHECK_THROWS_WITH(eq(ids, ids.to(DType::Float32)), Contains("eq") && Contains("int64") && Contains("float32"));
  CHECK_THROWS_WITH(eq(ids, Tensor::from_ints({1, 2}, {2})), Contains("[2, 3]") && Contains("[2]"));
  // counting: the non-padding tokens per row and in all
  const Tensor per_row = sum(ne(ids, 0.0), {1});
  CHECK(per_row.dtype() == DType::Int64);
  CHECK(ints(per_row) == std::vector<int64_t>{1, 2});
  CHECK(sum(ne(ids, 0.0)).item() == 3.0);
  CHECK(ints(max(ids, 1)) == std::vector<int64_t>{5, 7});
  CHECK_THROWS_WITH(mean(ids), Contains("mean") && Contains("int64"));
}

TEST_CASE("argmax returns an int64 tensor of the reduced shape", "[int]") {
  const Tensor x = Tensor::from_vector({0.1, 0.7, 0.2, 0.9, 0.05, 0.05}, {2, 3});
  const Tensor a = argmax(x, 1);
  CHECK(a.dtype() == DType::Int64);
  CHECK(a.shape() == Shape{2});
  CHECK(ints(a) == std::vector<int64_t>{1, 0});
  CHECK(argmax(x, 1, true).shape() == Shape{2, 1});
  CHECK(ints(argmax(x, 0)) == std::vector<int64_t>{1, 0, 0});
  CHECK(ints(argmax(Tensor::from_ints({2, 9, 9}, {3}), 0)) == std::vector<int64_t>{1});  // first maximum
}

TEST_CASE("labels in one slice and masked_fill: embedding and cross_entropy take int64 tensors", "[int]") {
  // Sequences <bos> w w <eos> <pad>: decoder input = all but the last, labels = all but the first
  // with padding replaced by -100 (ignored).
  constexpr int64_t kPad = 0, kB = 2, kT = 5, kV = 6, kD = 3;
  const Tensor seqs = Tensor::from_ints({1, 4, 5, 2, 0,  //
                                         1, 3, 2, 0, 0},
                                        {kB, kT});
  const Tensor input = slice(seqs, 1, 0, -1);  // (B, T-1)
  const Tensor next = slice(seqs, 1, 1, kT);   // (B, T-1)
  const Tensor labels = masked_fill(next, eq(next, kPad), -100);
  CHECK(labels.dtype() == DType::Int64);
  CHECK(ints(labels) == std::vector<int64_t>{4, 5, 2, -100, 3, 2, -100, -100});

  Tensor table = xgtest::leaf(xgtest::seq({kV, kD}, 0.37));
  Tensor proj = xgtest::leaf(xgtest::seq({kV, kD}, 0.61, 1.0, 0.3));
  auto loss_with_tensors = [&](const std::vector<Tensor>& p) {
    const Tensor h = embedding(p[0], input, kPad);  // (B, T-1, D)
    return cross_entropy(linear(h, p[1], Tensor()), labels, -100, 0.1);
  };
  auto loss_with_vectors = [&](const std::vector<Tensor>& p) {
    const Tensor h = embedding(p[0], input.to_ints(), input.shape(), kPad);
    return cross_entropy(linear(h, p[1], Tensor()), labels.to_ints(), -100, 0.1);
  };
  const Tensor a = loss_with_tensors({table, proj});
  a.backward();
  const auto grad_table = table.grad().to_vector(), grad_proj = proj.grad().to_vector();
  table.zero_grad(), proj.zero_grad();
  const Tensor b = loss_with_vectors({table, proj});
  b.backward();
  CHECK(a.item() == b.item());
  CHECK(grad_table == table.grad().to_vector());
  CHECK(grad_proj == proj.grad().to_vector());
  xgtest::require_gradcheck(loss_with_tensors, {table, proj});

  // errors name the op, the operand and both shapes
  CHECK_THROWS_WITH(embedding(table, input.to(DType::Float64)), Contains("embedding: ids must be an int64 tensor") &&
                                                                   Contains("float64 [2, 4]"));
  const Tensor logits = linear(embedding(table, input), proj, Tensor());  // (2, 4, 6)
  CHECK_THROWS_WITH(cross_entropy(logits, reshape(labels, {8})), Contains("targets [8] for logits [2, 4, 6]"));
  CHECK_THROWS_WITH(cross_entropy(logits, labels.to(DType::Float32)), Contains("targets must be an int64 tensor"));
  CHECK_THROWS_WITH(masked_fill(next, eq(next, kPad), 0.5), Contains("0.5 is not an int64 value"));
  CHECK_THROWS_WITH(index_select(table, 0, Tensor::from_ints({9}, {1})), Contains("index 9") && Contains("[0, 6)"));
}

TEST_CASE("arithmetic on ids is refused with the op's name, masks of bool work everywhere", "[int]") {
  const Tensor ids = Tensor::from_ints({1, 2}, {2});
  const Tensor x = xgtest::leaf(xgtest::seq({2, 2}));
  CHECK_THROWS_WITH(ids + ids, Contains("add: takes float32 or float64 tensors, got int64 [2]"));
  CHECK_THROWS_WITH(exp(ids), Contains("exp: takes float32 or float64"));
  CHECK_THROWS_WITH(matmul(ids, ids), Contains("matmul") && Contains("int64"));
  CHECK_THROWS_WITH(softmax(ids, 0), Contains("softmax") && Contains("int64"));
  CHECK_THROWS_WITH(linear(ids, x, Tensor()), Contains("linear") && Contains("int64"));
  // a bool mask in masked_fill and where: same values and gradients as a float mask
  const Tensor bmask = Tensor::from_ints({0, 1, 1, 0}, {2, 2}, DType::Bool);
  const Tensor fmask = bmask.to(DType::Float64);
  xgtest::require_close(masked_fill(x, bmask, -1.5), masked_fill(x, fmask, -1.5).to_vector(), 0.0);
  xgtest::require_gradcheck([&](const std::vector<Tensor>& v) { return masked_fill(v[0], bmask, 0.25); }, {x});
  const Tensor y = xgtest::leaf(xgtest::seq({2}, 0.3));
  xgtest::require_gradcheck([&](const std::vector<Tensor>& v) { return where(bmask, v[0], v[1]); }, {x, y});
}

TEST_CASE("int64 and bool tensors round-trip through safetensors", "[int]") {
  const std::string path = "int_tensors_roundtrip.safetensors";
  const Tensor ids = Tensor::from_ints({-3, 0, 1LL << 40}, {3});
  const Tensor mask = Tensor::from_ints({1, 0, 1, 1}, {2, 2}, DType::Bool);
  save_safetensors(path, {{"ids", ids}, {"mask", mask}});
  const auto f = load_safetensors(path);
  std::remove(path.c_str());
  REQUIRE(f.tensors.size() == 2);
  const Tensor ids2 = f.tensors[0].second, mask2 = f.tensors[1].second;
  CHECK(f.tensors[0].first == "ids");
  CHECK(ids2.dtype() == DType::Int64);
  CHECK(ints(ids2) == ints(ids));
  CHECK(mask2.dtype() == DType::Bool);
  CHECK(mask2.shape() == Shape{2, 2});
  CHECK(ints(mask2) == ints(mask));
}
