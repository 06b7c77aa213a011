package schema

// AppendFloat is appendFloat, for TestAppendFloatMatchesStrconv.
var AppendFloat = appendFloat

// AppendInt is appendInt, for TestAppendIntMatchesStrconv.
var AppendInt = appendInt
