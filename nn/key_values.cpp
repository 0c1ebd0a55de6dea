#include <xgrad/nn/key_values.hpp>

#include <algorithm>
#include <fmt/format.h>

#include <xgrad/core/ops.hpp>

namespace xg::nn {

KeyValues::KeyValues(Tensor k, Tensor v) : k_(std::move(k)), v_(std::move(v)) {
  if (k_.dim() != 4 || v_.dim() != 4 || Shape(k_.shape().begin(), k_.shape().begin() + 3) !=
                                           Shape(v_.shape().begin(), v_.shape().begin() + 3))
    throw ShapeError(fmt::format("KeyValues: keys {} and values {} (need (B, H_kv, T, dh) with equal B, H_kv, T)",
                                 shape_str(k_.shape()), shape_str(v_.shape())));
}

namespace {
// The first `length` positions of a (B, H, C, d) buffer as a (B, H, length, d) tensor.
Tensor used_positions(const Tensor& buffer, int64_t length) { return narrow(buffer, 2, 0, length); }

// Copies x (B, H, n, d) into positions [at, at + n) of buffer (B, H, C, d).
void write_positions(Tensor& buffer, const Tensor& x, int64_t at) {
  const Shape& bs = buffer.shape();
  const int64_t heads = bs[0] * bs[1], capacity = bs[2], d = bs[3], n = x.shape()[2];
  dispatch(buffer.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = x.data<T>();
    T* dst = buffer.data<T>();
    for (int64_t h = 0; h < heads; ++h) std::copy(src + h * n * d, src + (h + 1) * n * d, dst + (h * capacity + at) * d);
  });
}

// A buffer of `capacity` positions holding the first `length` positions of `from` (a buffer or
// an exact tensor, (B, H, *, d)).
Tensor regrown(const Tensor& from, int64_t length, int64_t capacity) {
  Shape shape = from.shape();
  shape[2] = capacity;
  Tensor buffer = Tensor::uninitialized(shape, from.dtype());
  if (length > 0) write_positions(buffer, from.shape()[2] == length ? from : used_positions(from, length), 0);
  return buffer;
}
}  // namespace

const Tensor& KeyValues::k() const {
  if (buffered() && (!k_.defined() || k_.shape()[2] != length_)) k_ = used_positions(k_buffer_, length_);
  return k_;
}

const Tensor& KeyValues::v() const {
  if (buffered() && (!v_.defined() || v_.shape()[2] != length_)) v_ = used_positions(v_buffer_, length_);
  return v_;
}

void KeyValues::append(const KeyValues& more) {
  if (more.empty()) return;
  if (empty() && !buffered()) {
    *this = more.buffered() ? KeyValues(more.k(), more.v()) : more;  // never share another cache's buffer
    if (!grad_mode_enabled() || (!k_.requires_grad() && !v_.requires_grad())) {  // start a buffer
      const int64_t n = length();
      k_buffer_ = regrown(k_, n, std::max<int64_t>(16, 2 * n));
      v_buffer_ = regrown(v_, n, std::max<int64_t>(16, 2 * n));
      length_ = n;
      k_ = v_ = Tensor();
    }
    return;
  }
  const bool needs_graph = grad_mode_enabled() && (more.k().requires_grad() || more.v().requires_grad());
  if (!buffered() || needs_graph) {
    Tensor k = concat({this->k(), more.k()}, 2), v = concat({this->v(), more.v()}, 2);
    *this = KeyValues(std::move(k), std::move(v));
    return;
  }
  const int64_t n = more.length();
  if (length_ + n > k_buffer_.shape()[2]) {
    const int64_t capacity = std::max(2 * k_buffer_.shape()[2], length_ + n);
    k_buffer_ = regrown(k_buffer_, length_, capacity);
    v_buffer_ = regrown(v_buffer_, length_, capacity);
  }
  write_positions(k_buffer_, more.k(), length_);
  write_positions(v_buffer_, more.v(), length_);
  length_ += n;
}

void KeyValues::select_rows(const std::vector<int64_t>& rows) {
  if (buffered()) {
    k_buffer_ = index_select(k_buffer_, 0, rows), v_buffer_ = index_select(v_buffer_, 0, rows);
    k_ = v_ = Tensor();
  } else if (k_.defined()) {
    k_ = index_select(k_, 0, rows), v_ = index_select(v_, 0, rows);
  }
}

}  // namespace xg::nn
