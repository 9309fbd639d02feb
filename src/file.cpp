#include "file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "rondo/error.hpp"

namespace rondo::detail {

void throw_errno(const std::string& what, const std::filesystem::path& path) {
  const int err = errno;
  throw Error(ErrorCode::Io, what + " " + path.string() + ": " + std::strerror(err));
}

File::File(const std::filesystem::path& path, Mode mode) : path_(path) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case Mode::ReadOnly: flags |= O_RDONLY; break;
    case Mode::ReadWrite: flags |= O_RDWR; break;
    case Mode::CreateNew: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
  }
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) {
    // Creating a file in a directory that does not exist is an I/O error
    // (the caller's setup is wrong), not a missing file.
    if (errno == ENOENT && mode != Mode::CreateNew) throw Error(ErrorCode::NotFound, "no such file: " + path.string());
    throw_errno("cannot open", path);
  }
}

File::File(File&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw_errno("cannot stat", path_);
  return static_cast<std::uint64_t>(st.st_size);
}

void File::allocate(std::uint64_t bytes) {
  const int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(bytes));
  if (rc != 0) {
    errno = rc;
    throw_errno("cannot allocate " + std::to_string(bytes) + " bytes for", path_);
  }
}

void File::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read", path_);
    if (n == 0) {
      throw Error(ErrorCode::Corrupt, "file is truncated: " + path_.string() + " ends before byte " +
                                          std::to_string(offset + out.size()));
    }
    done += static_cast<std::size_t>(n);
  }
}

void File::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot write", path_);
    done += static_cast<std::size_t>(n);
  }
}

void File::truncate(std::uint64_t bytes) {
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) throw_errno("cannot truncate", path_);
}

void File::sync() {
  if (::fsync(fd_) != 0) throw_errno("cannot fsync", path_);
}

bool File::try_lock() {
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  throw_errno("cannot lock", path_);
}

MappedFile::MappedFile(const File& file, std::uint64_t size, bool writable) : size_(size), path_(file.path()) {
  const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void* p = ::mmap(nullptr, size, prot, MAP_SHARED, file.fd(), 0);
  if (p == MAP_FAILED) throw_errno("cannot map", path_);
  data_ = static_cast<std::byte*>(p);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

void MappedFile::sync() {
  if (data_ && ::msync(data_, size_, MS_SYNC) != 0) throw_errno("cannot msync", path_);
}

ZeroPages::ZeroPages(std::uint64_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw_errno("cannot map " + std::to_string(bytes) + " bytes of memory for", "a slab");
  data_ = static_cast<std::byte*>(p);
}

ZeroPages::ZeroPages(ZeroPages&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

ZeroPages& ZeroPages::operator=(ZeroPages&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

ZeroPages::~ZeroPages() {
  if (data_) ::munmap(data_, size_);
}

void sync_directory(const std::filesystem::path& dir) {
  File d(dir.empty() ? "." : dir, File::Mode::ReadOnly);
  if (::fsync(d.fd()) != 0) throw_errno("cannot fsync directory", d.path());
}

void replace_file_durably(const std::filesystem::path& path, const std::function<void(File&)>& fill) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  try {
    File f(tmp, File::Mode::CreateNew);
    fill(f);
    f.sync();
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    errno = err;
    throw_errno("cannot rename " + tmp.string() + " onto", path);
  }
  sync_directory(path.parent_path());
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  replace_file_durably(path, [&](File& f) { f.write_at(0, std::as_bytes(std::span(contents.data(), contents.size()))); });
}

std::string read_whole_file(const std::filesystem::path& path) {
  File f(path, File::Mode::ReadOnly);
  std::string s(f.size(), '\0');
  f.read_at(0, std::as_writable_bytes(std::span(s.data(), s.size())));
  return s;
}

}  // namespace rondo::detail
