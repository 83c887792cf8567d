// Shared helpers for the standard library files, and the function each file provides to add
// its builtins to the table (src/builtins.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rtfs/function.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/value.hpp"

namespace rtfs::stdlib {

void add_numeric(std::vector<BuiltinDef>& t);      // numeric.cpp
void add_compare(std::vector<BuiltinDef>& t);      // compare.cpp: = not= < > compare not ...
void add_predicates(std::vector<BuiltinDef>& t);   // predicates.cpp: nil? int? type-name ...
void add_strings(std::vector<BuiltinDef>& t);      // strings.cpp (+ regex.cpp)
void add_collections(std::vector<BuiltinDef>& t);  // collections.cpp
void add_higher_order(std::vector<BuiltinDef>& t); // higher_order.cpp
void add_sequences(std::vector<BuiltinDef>& t);    // sequences.cpp: first rest conj range ...
void add_sorting(std::vector<BuiltinDef>& t);      // sorting.cpp: sort sort-by
void add_function_builders(std::vector<BuiltinDef>& t);  // function_builders.cpp: comp partial ...
void add_json(std::vector<BuiltinDef>& t);         // json.cpp
void add_errors(std::vector<BuiltinDef>& t);       // errors.cpp: throw error error? getMessage
void add_capabilities(std::vector<BuiltinDef>& t); // capabilities.cpp: println, read-file, ...

// "Type error in {op}: expected {expected}, got {type of got}"
Unexpected<Error> type_error(const char* op, const char* expected, const Value& got);
Unexpected<Error> invalid_argument(const char* op, const std::string& why);

Result<int64_t> int_arg(const char* op, const Value& v);
Result<double> number_arg(const char* op, const Value& v);  // int or float
Result<const std::string*> string_arg(const char* op, const Value& v);

// The elements of a sequential value: nil -> empty; list, vector, set -> items; map -> [k v]
// vectors; string -> one-character strings. Anything else is a TypeError naming op.
Result<std::vector<Value>> items_of(const char* op, const Value& v);
// The first at_most characters of s, a one-character string each (uncharged: a caller making
// many charges first, as items_of does).
std::vector<Value> characters(const std::string& s, size_t at_most = SIZE_MAX);

// Before building a collection of n values: a ResourceLimit error if that would take the
// interpreter past its memory limit, and a chance for interruption to be noticed.
Expected<void, Error> check_alloc(Interpreter& interp, size_t n_values);

}  // namespace rtfs::stdlib
