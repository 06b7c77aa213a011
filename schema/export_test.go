package schema

// AppendFloat is appendFloat, for TestAppendFloatMatchesStrconv.
var AppendFloat = appendFloat
