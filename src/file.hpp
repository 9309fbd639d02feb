// The only place that makes file-system system calls: open, fallocate,
// mmap/msync, flock, pread/pwrite, rename, fsync. Failures become
// rondo::Error(Io) naming the file and the errno text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "rondo/error.hpp"

namespace rondo::detail {

// An open file descriptor, closed on destruction.
class File {
 public:
  enum class Mode { ReadOnly, ReadWrite, CreateNew };

  File() = default;
  File(const std::filesystem::path& path, Mode mode);
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  ~File();

  std::uint64_t size() const;
  // Reserves real blocks (fallocate) so writes through a mapping never hit ENOSPC.
  void allocate(std::uint64_t bytes);
  void read_at(std::uint64_t offset, std::span<std::byte> out) const;   // exact, or Error(Corrupt)
  void write_at(std::uint64_t offset, std::span<const std::byte> data);
  void truncate(std::uint64_t bytes);
  void sync();
  // Exclusive, non-blocking advisory lock; false when someone else holds it.
  bool try_lock();

  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// A shared mapping of a whole file, unmapped on destruction.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const File& file, std::uint64_t size, bool writable);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  std::byte* data() const { return data_; }
  std::uint64_t size() const { return size_; }
  void sync();  // msync(MS_SYNC)

 private:
  std::byte* data_ = nullptr;
  std::uint64_t size_ = 0;
  std::filesystem::path path_;
};

// Memory that reads as zeros and takes a page only where it is first
// written (a private anonymous mapping): for large tables of which a
// process touches little, e.g. a slab's verified-sum memo.
class ZeroPages {
 public:
  ZeroPages() = default;
  explicit ZeroPages(std::uint64_t bytes);  // throws Error(Io) if it cannot map
  ZeroPages(ZeroPages&& other) noexcept;
  ZeroPages& operator=(ZeroPages&& other) noexcept;
  ~ZeroPages();

  std::byte* data() const { return data_; }

 private:
  std::byte* data_ = nullptr;
  std::uint64_t size_ = 0;
};

// Creates or replaces `path` so that a crash or a power cut leaves either
// the old file or the complete new one, never a part: `fill` writes a
// temporary beside it (path + ".tmp"), which is fsync'd, renamed onto
// `path`, and then the directory is fsync'd so the rename itself is durable.
// Every step's result is checked; on failure the temporary is removed.
// This is the one way the library and the exporter create a file.
void replace_file_durably(const std::filesystem::path& path, const std::function<void(File&)>& fill);
// replace_file_durably with `contents` as the whole file.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);
// fsync of a directory: makes the entries created or renamed in it durable.
void sync_directory(const std::filesystem::path& dir);
std::string read_whole_file(const std::filesystem::path& path);
[[noreturn]] void throw_errno(const std::string& what, const std::filesystem::path& path);

// For a format's never_written(): the header and the state of a file that
// a create completed (its magic and header checksum right, the size its
// header gives), read without mapping it; nullopt for anything else, an
// unreadable file included. The slab and quantile headers share the
// fields it reads.
template <typename Header, typename State>
std::optional<File> read_created(const std::filesystem::path& path, const char (&magic)[8],
                                 std::uint32_t (*crc)(Header), Header& h, State& st) {
  try {
    File file(path, File::Mode::ReadOnly);
    file.read_at(0, std::as_writable_bytes(std::span(&h, 1)));
    if (std::memcmp(h.magic, magic, sizeof(h.magic)) != 0 || h.header_crc != crc(h)) return std::nullopt;
    if (file.size() != h.file_size || h.state_offset > h.file_size - sizeof(State)) return std::nullopt;
    file.read_at(h.state_offset, std::as_writable_bytes(std::span(&st, 1)));
    return file;
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace rondo::detail
