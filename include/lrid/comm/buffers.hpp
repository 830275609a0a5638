#pragma once
// Typed views of gradient memory, the currency between train (which owns the tensors) and the
// averaging backends (which own none): a pointer, an element count, the element type and the
// device (with, for CUDA, the stream the producing kernels ran on). No torch here.
#include <cstddef>
#include <cstdint>

namespace lrid::comm {

enum class DType { F32, F64 };
size_t dtype_bytes(DType t);

struct Device {
  enum class Kind { CPU, CUDA } kind = Kind::CPU;
  int index = -1;           ///< CUDA device ordinal
  void* stream = nullptr;   ///< CUDA: the cudaStream_t the gradients were produced on
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
};

struct BufferView {
  void* data = nullptr;
  int64_t count = 0;        ///< elements
  DType dtype = DType::F32;
  Device device;
  size_t bytes() const { return static_cast<size_t>(count) * dtype_bytes(dtype); }
};

}  // namespace lrid::comm
