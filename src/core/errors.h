// Exception types thrown by the core. The PostgreSQL glue maps each type to a
// SQLSTATE at its entry-point guard (see src/pg/guard.h); nothing else in the
// core needs to know about PostgreSQL error codes.
#pragma once

#include "core/common.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace vectordb {

// Base of every error the core raises on purpose. `detail` becomes the
// PostgreSQL error's DETAIL line when not empty.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, std::string detail = {})
        : std::runtime_error(message), detail_(std::move(detail)) {}
    const std::string& detail() const { return detail_; }

private:
    std::string detail_;
};

// A caller passed a parameter outside its documented range (SQLSTATE 22023).
class InvalidArgument : public Error {
public:
    using Error::Error;
};

// Input data is malformed or inconsistent (SQLSTATE 22000).
class DataError : public Error {
public:
    using Error::Error;
};

// Text that does not follow a type's input syntax (SQLSTATE 22P02).
class InvalidTextRepresentation : public Error {
public:
    using Error::Error;
};

// A number too large or too small for its type (SQLSTATE 22003).
class NumericOutOfRange : public Error {
public:
    using Error::Error;
};

// A documented size limit was exceeded (SQLSTATE 54000).
class LimitExceeded : public Error {
public:
    using Error::Error;
};

// A file operation failed: missing file, short write, disk full (SQLSTATE 58030).
class IoError : public Error {
public:
    using Error::Error;
};

}  // namespace vectordb
