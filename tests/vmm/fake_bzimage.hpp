// A synthetic bzImage for the boot-protocol tests: the setup header of a
// 2.15 kernel with every field the loader reads, set by name, in front of a
// payload whose bytes count up (so a copy can be checked byte for byte).
// Test data, not a mock: the loader parses it exactly as it parses a real one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace rondo::vmm::testing {

template <typename T>
void put(std::vector<std::uint8_t>& bytes, std::size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

template <typename T>
T get(const std::vector<std::uint8_t>& bytes, std::uint64_t offset) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// A bzImage-shaped file: 0xff boot sector (as since Linux 6.1.88), a 2.15 setup
// header, 4 setup sectors and a payload whose bytes count up.
struct FakeKernel {
  std::uint8_t setup_sects = 4;
  std::uint16_t version = 0x020f;
  std::uint8_t loadflags = 0x01;
  std::uint16_t xloadflags = 0x7f;
  std::uint32_t initrd_addr_max = 0x7fffffff;
  std::uint32_t cmdline_size = 2047;
  std::uint32_t init_size = 4 << 20;
  std::uint8_t relocatable = 1;
  std::size_t payload_bytes = 64 * 1024;

  std::size_t setup_bytes() const {
    return (std::size_t{setup_sects == 0 ? 4U : setup_sects} + 1) * 512;
  }

  std::vector<std::uint8_t> build() const {
    std::vector<std::uint8_t> image(setup_bytes() + payload_bytes, 0);
    std::fill_n(image.begin(), 0x1f1, std::uint8_t{0xff});
    image[0x1f1] = setup_sects;
    put<std::uint32_t>(image, 0x1f4, static_cast<std::uint32_t>((payload_bytes + 15) / 16));
    put<std::uint16_t>(image, 0x1fe, 0xaa55);
    image[0x200] = 0xeb;
    image[0x201] = 0x6a;  // header ends at 0x26c
    put<std::uint32_t>(image, 0x202, 0x53726448);
    put<std::uint16_t>(image, 0x206, version);
    image[0x211] = loadflags;
    put<std::uint32_t>(image, 0x214, 0x100000);
    put<std::uint32_t>(image, 0x22c, initrd_addr_max);
    put<std::uint32_t>(image, 0x230, 0x200000);
    image[0x234] = relocatable;
    put<std::uint16_t>(image, 0x236, xloadflags);
    put<std::uint32_t>(image, 0x238, cmdline_size);
    put<std::uint64_t>(image, 0x258, 0x1000000);
    put<std::uint32_t>(image, 0x260, init_size);
    for (std::size_t i = 0; i < payload_bytes; ++i) {
      image[setup_bytes() + i] = static_cast<std::uint8_t>(i * 7 + 1);
    }
    return image;
  }
};

}  // namespace rondo::vmm::testing
