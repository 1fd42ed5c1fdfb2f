# Generated from bookshop/v1/bookshop.proto by microlib-codegen 0.1.0. DO NOT EDIT.
"""The contract files' descriptors and the private upb pool built from them.

The pool is this package's own (never the process-wide default), so two
generated packages holding the same contract never clash.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["POOL", "file_descriptor_set", "message_class"]

# Serialized FileDescriptorProtos, each after the files it imports.
_FILES: dict[str, bytes] = {
    "google/api/http.proto": (
        b'\n\x15google/api/http.proto\x12\ngoogle.api"y\n\x04Http\x12*\n\x05rules\x18'
        b"\x01 \x03(\x0b2\x14.google.api.HttpRuleR\x05rules\x12E\n\x1ffully_decode_re"
        b'served_expansion\x18\x02 \x01(\x08R\x1cfullyDecodeReservedExpansion"\xda\x02'
        b"\n\x08HttpRule\x12\x1a\n\x08selector\x18\x01 \x01(\tR\x08selector\x12\x12\n"
        b"\x03get\x18\x02 \x01(\tH\x00R\x03get\x12\x12\n\x03put\x18\x03 \x01(\tH\x00R"
        b"\x03put\x12\x14\n\x04post\x18\x04 \x01(\tH\x00R\x04post\x12\x18\n\x06delete"
        b"\x18\x05 \x01(\tH\x00R\x06delete\x12\x16\n\x05patch\x18\x06 \x01(\tH\x00R\x05"
        b"patch\x127\n\x06custom\x18\x08 \x01(\x0b2\x1d.google.api.CustomHttpPatternH"
        b"\x00R\x06custom\x12\x12\n\x04body\x18\x07 \x01(\tR\x04body\x12#\n\rresponse"
        b"_body\x18\x0c \x01(\tR\x0cresponseBody\x12E\n\x13additional_bindings\x18\x0b"
        b' \x03(\x0b2\x14.google.api.HttpRuleR\x12additionalBindingsB\t\n\x07pattern"'
        b";\n\x11CustomHttpPattern\x12\x12\n\x04kind\x18\x01 \x01(\tR\x04kind\x12\x12"
        b"\n\x04path\x18\x02 \x01(\tR\x04pathBg\n\x0ecom.google.apiB\tHttpProtoP\x01Z"
        b"Agoogle.golang.org/genproto/googleapis/api/annotations;annotations\xa2\x02\x04"
        b"GAPIb\x06proto3"
    ),
    "google/protobuf/descriptor.proto": (
        b'\n google/protobuf/descriptor.proto\x12\x0fgoogle.protobuf"[\n\x11FileDescr'
        b"iptorSet\x128\n\x04file\x18\x01 \x03(\x0b2$.google.protobuf.FileDescriptorP"
        b'rotoR\x04file*\x0c\x08\x80\xec\xca\xff\x01\x10\x81\xec\xca\xff\x01"\xc5\x05'
        b"\n\x13FileDescriptorProto\x12\x12\n\x04name\x18\x01 \x01(\tR\x04name\x12\x18"
        b"\n\x07package\x18\x02 \x01(\tR\x07package\x12\x1e\n\ndependency\x18\x03 \x03"
        b"(\tR\ndependency\x12+\n\x11public_dependency\x18\n \x03(\x05R\x10publicDepe"
        b"ndency\x12'\n\x0fweak_dependency\x18\x0b \x03(\x05R\x0eweakDependency\x12+\n"
        b"\x11option_dependency\x18\x0f \x03(\tR\x10optionDependency\x12C\n\x0cmessag"
        b"e_type\x18\x04 \x03(\x0b2 .google.protobuf.DescriptorProtoR\x0bmessageType\x12"
        b"A\n\tenum_type\x18\x05 \x03(\x0b2$.google.protobuf.EnumDescriptorProtoR\x08"
        b"enumType\x12A\n\x07service\x18\x06 \x03(\x0b2'.google.protobuf.ServiceDescr"
        b"iptorProtoR\x07service\x12C\n\textension\x18\x07 \x03(\x0b2%.google.protobu"
        b"f.FieldDescriptorProtoR\textension\x126\n\x07options\x18\x08 \x01(\x0b2\x1c"
        b".google.protobuf.FileOptionsR\x07options\x12I\n\x10source_code_info\x18\t \x01"
        b"(\x0b2\x1f.google.protobuf.SourceCodeInfoR\x0esourceCodeInfo\x12\x16\n\x06s"
        b"yntax\x18\x0c \x01(\tR\x06syntax\x122\n\x07edition\x18\x0e \x01(\x0e2\x18.g"
        b'oogle.protobuf.EditionR\x07edition"\xfc\x06\n\x0fDescriptorProto\x12\x12\n\x04'
        b"name\x18\x01 \x01(\tR\x04name\x12;\n\x05field\x18\x02 \x03(\x0b2%.google.pr"
        b"otobuf.FieldDescriptorProtoR\x05field\x12C\n\textension\x18\x06 \x03(\x0b2%"
        b".google.protobuf.FieldDescriptorProtoR\textension\x12A\n\x0bnested_type\x18"
        b"\x03 \x03(\x0b2 .google.protobuf.DescriptorProtoR\nnestedType\x12A\n\tenum_"
        b"type\x18\x04 \x03(\x0b2$.google.protobuf.EnumDescriptorProtoR\x08enumType\x12"
        b"X\n\x0fextension_range\x18\x05 \x03(\x0b2/.google.protobuf.DescriptorProto."
        b"ExtensionRangeR\x0eextensionRange\x12D\n\noneof_decl\x18\x08 \x03(\x0b2%.go"
        b"ogle.protobuf.OneofDescriptorProtoR\toneofDecl\x129\n\x07options\x18\x07 \x01"
        b"(\x0b2\x1f.google.protobuf.MessageOptionsR\x07options\x12U\n\x0ereserved_ra"
        b"nge\x18\t \x03(\x0b2..google.protobuf.DescriptorProto.ReservedRangeR\rreser"
        b"vedRange\x12#\n\rreserved_name\x18\n \x03(\tR\x0creservedName\x12A\n\nvisib"
        b"ility\x18\x0b \x01(\x0e2!.google.protobuf.SymbolVisibilityR\nvisibility\x1a"
        b"z\n\x0eExtensionRange\x12\x14\n\x05start\x18\x01 \x01(\x05R\x05start\x12\x10"
        b"\n\x03end\x18\x02 \x01(\x05R\x03end\x12@\n\x07options\x18\x03 \x01(\x0b2&.g"
        b"oogle.protobuf.ExtensionRangeOptionsR\x07options\x1a7\n\rReservedRange\x12\x14"
        b"\n\x05start\x18\x01 \x01(\x05R\x05start\x12\x10\n\x03end\x18\x02 \x01(\x05R"
        b'\x03end"\xd4\x04\n\x15ExtensionRangeOptions\x12X\n\x14uninterpreted_option\x18'
        b"\xe7\x07 \x03(\x0b2$.google.protobuf.UninterpretedOptionR\x13uninterpretedO"
        b"ption\x12Y\n\x0bdeclaration\x18\x02 \x03(\x0b22.google.protobuf.ExtensionRa"
        b"ngeOptions.DeclarationB\x03\x88\x01\x02R\x0bdeclaration\x127\n\x08features\x18"
        b"2 \x01(\x0b2\x1b.google.protobuf.FeatureSetR\x08features\x12m\n\x0cverifica"
        b"tion\x18\x03 \x01(\x0e28.google.protobuf.ExtensionRangeOptions.Verification"
        b"State:\nUNVERIFIEDB\x03\x88\x01\x02R\x0cverification\x1a\x94\x01\n\x0bDecla"
        b"ration\x12\x16\n\x06number\x18\x01 \x01(\x05R\x06number\x12\x1b\n\tfull_nam"
        b"e\x18\x02 \x01(\tR\x08fullName\x12\x12\n\x04type\x18\x03 \x01(\tR\x04type\x12"
        b"\x1a\n\x08reserved\x18\x05 \x01(\x08R\x08reserved\x12\x1a\n\x08repeated\x18"
        b'\x06 \x01(\x08R\x08repeatedJ\x04\x08\x04\x10\x05"4\n\x11VerificationState\x12'
        b"\x0f\n\x0bDECLARATION\x10\x00\x12\x0e\n\nUNVERIFIED\x10\x01*\x06\x08\xde\x07"
        b'\x10\xe7\x07*\t\x08\xe8\x07\x10\x80\x80\x80\x80\x02"\xc1\x06\n\x14FieldDesc'
        b"riptorProto\x12\x12\n\x04name\x18\x01 \x01(\tR\x04name\x12\x16\n\x06number\x18"
        b"\x03 \x01(\x05R\x06number\x12A\n\x05label\x18\x04 \x01(\x0e2+.google.protob"
        b"uf.FieldDescriptorProto.LabelR\x05label\x12>\n\x04type\x18\x05 \x01(\x0e2*."
        b"google.protobuf.FieldDescriptorProto.TypeR\x04type\x12\x1b\n\ttype_name\x18"
        b"\x06 \x01(\tR\x08typeName\x12\x1a\n\x08extendee\x18\x02 \x01(\tR\x08extende"
        b"e\x12#\n\rdefault_value\x18\x07 \x01(\tR\x0cdefaultValue\x12\x1f\n\x0boneof"
        b"_index\x18\t \x01(\x05R\noneofIndex\x12\x1b\n\tjson_name\x18\n \x01(\tR\x08"
        b"jsonName\x127\n\x07options\x18\x08 \x01(\x0b2\x1d.google.protobuf.FieldOpti"
        b"onsR\x07options\x12'\n\x0fproto3_optional\x18\x11 \x01(\x08R\x0eproto3Optio"
        b'nal"\xb6\x02\n\x04Type\x12\x0f\n\x0bTYPE_DOUBLE\x10\x01\x12\x0e\n\nTYPE_FLO'
        b"AT\x10\x02\x12\x0e\n\nTYPE_INT64\x10\x03\x12\x0f\n\x0bTYPE_UINT64\x10\x04\x12"
        b"\x0e\n\nTYPE_INT32\x10\x05\x12\x10\n\x0cTYPE_FIXED64\x10\x06\x12\x10\n\x0cT"
        b"YPE_FIXED32\x10\x07\x12\r\n\tTYPE_BOOL\x10\x08\x12\x0f\n\x0bTYPE_STRING\x10"
        b"\t\x12\x0e\n\nTYPE_GROUP\x10\n\x12\x10\n\x0cTYPE_MESSAGE\x10\x0b\x12\x0e\n\n"
        b"TYPE_BYTES\x10\x0c\x12\x0f\n\x0bTYPE_UINT32\x10\r\x12\r\n\tTYPE_ENUM\x10\x0e"
        b"\x12\x11\n\rTYPE_SFIXED32\x10\x0f\x12\x11\n\rTYPE_SFIXED64\x10\x10\x12\x0f\n"
        b'\x0bTYPE_SINT32\x10\x11\x12\x0f\n\x0bTYPE_SINT64\x10\x12"C\n\x05Label\x12\x12'
        b"\n\x0eLABEL_OPTIONAL\x10\x01\x12\x12\n\x0eLABEL_REPEATED\x10\x03\x12\x12\n\x0e"
        b'LABEL_REQUIRED\x10\x02"c\n\x14OneofDescriptorProto\x12\x12\n\x04name\x18\x01'
        b" \x01(\tR\x04name\x127\n\x07options\x18\x02 \x01(\x0b2\x1d.google.protobuf."
        b'OneofOptionsR\x07options"\xa6\x03\n\x13EnumDescriptorProto\x12\x12\n\x04nam'
        b"e\x18\x01 \x01(\tR\x04name\x12?\n\x05value\x18\x02 \x03(\x0b2).google.proto"
        b"buf.EnumValueDescriptorProtoR\x05value\x126\n\x07options\x18\x03 \x01(\x0b2"
        b"\x1c.google.protobuf.EnumOptionsR\x07options\x12]\n\x0ereserved_range\x18\x04"
        b" \x03(\x0b26.google.protobuf.EnumDescriptorProto.EnumReservedRangeR\rreserv"
        b"edRange\x12#\n\rreserved_name\x18\x05 \x03(\tR\x0creservedName\x12A\n\nvisi"
        b"bility\x18\x06 \x01(\x0e2!.google.protobuf.SymbolVisibilityR\nvisibility\x1a"
        b";\n\x11EnumReservedRange\x12\x14\n\x05start\x18\x01 \x01(\x05R\x05start\x12"
        b'\x10\n\x03end\x18\x02 \x01(\x05R\x03end"\x83\x01\n\x18EnumValueDescriptorPr'
        b"oto\x12\x12\n\x04name\x18\x01 \x01(\tR\x04name\x12\x16\n\x06number\x18\x02 "
        b"\x01(\x05R\x06number\x12;\n\x07options\x18\x03 \x01(\x0b2!.google.protobuf."
        b'EnumValueOptionsR\x07options"\xb5\x01\n\x16ServiceDescriptorProto\x12\x12\n'
        b"\x04name\x18\x01 \x01(\tR\x04name\x12>\n\x06method\x18\x02 \x03(\x0b2&.goog"
        b"le.protobuf.MethodDescriptorProtoR\x06method\x129\n\x07options\x18\x03 \x01"
        b"(\x0b2\x1f.google.protobuf.ServiceOptionsR\x07optionsJ\x04\x08\x04\x10\x05R"
        b'\x06stream"\x89\x02\n\x15MethodDescriptorProto\x12\x12\n\x04name\x18\x01 \x01'
        b"(\tR\x04name\x12\x1d\n\ninput_type\x18\x02 \x01(\tR\tinputType\x12\x1f\n\x0b"
        b"output_type\x18\x03 \x01(\tR\noutputType\x128\n\x07options\x18\x04 \x01(\x0b"
        b"2\x1e.google.protobuf.MethodOptionsR\x07options\x120\n\x10client_streaming\x18"
        b"\x05 \x01(\x08:\x05falseR\x0fclientStreaming\x120\n\x10server_streaming\x18"
        b'\x06 \x01(\x08:\x05falseR\x0fserverStreaming"\xfa\n\n\x0bFileOptions\x12!\n'
        b"\x0cjava_package\x18\x01 \x01(\tR\x0bjavaPackage\x120\n\x14java_outer_class"
        b"name\x18\x08 \x01(\tR\x12javaOuterClassname\x12\xf9\x01\n\x13java_multiple_"
        b"files\x18\n \x01(\x08:\x05falseB\xc1\x01\xb2\x01\xbd\x01\x08\xe6\x07 \xe9\x07"
        b"*\xb4\x01This behavior is enabled by default in editions 2024 and above. To"
        b" disable it, you can set `features.(pb.java).nest_in_file_class = YES` on i"
        b"ndividual messages, enums, or services.R\x11javaMultipleFiles\x12D\n\x1djav"
        b"a_generate_equals_and_hash\x18\x14 \x01(\x08B\x02\x18\x01R\x19javaGenerateE"
        b"qualsAndHash\x12:\n\x16java_string_check_utf8\x18\x1b \x01(\x08:\x05falseR\x13"
        b"javaStringCheckUtf8\x12S\n\x0coptimize_for\x18\t \x01(\x0e2).google.protobu"
        b"f.FileOptions.OptimizeMode:\x05SPEEDR\x0boptimizeFor\x12\x1d\n\ngo_package\x18"
        b"\x0b \x01(\tR\tgoPackage\x125\n\x13cc_generic_services\x18\x10 \x01(\x08:\x05"
        b"falseR\x11ccGenericServices\x129\n\x15java_generic_services\x18\x11 \x01(\x08"
        b":\x05falseR\x13javaGenericServices\x125\n\x13py_generic_services\x18\x12 \x01"
        b"(\x08:\x05falseR\x11pyGenericServices\x12%\n\ndeprecated\x18\x17 \x01(\x08:"
        b"\x05falseR\ndeprecated\x12.\n\x10cc_enable_arenas\x18\x1f \x01(\x08:\x04tru"
        b"eR\x0eccEnableArenas\x12*\n\x11objc_class_prefix\x18$ \x01(\tR\x0fobjcClass"
        b"Prefix\x12)\n\x10csharp_namespace\x18% \x01(\tR\x0fcsharpNamespace\x12!\n\x0c"
        b"swift_prefix\x18' \x01(\tR\x0bswiftPrefix\x12(\n\x10php_class_prefix\x18( \x01"
        b"(\tR\x0ephpClassPrefix\x12#\n\rphp_namespace\x18) \x01(\tR\x0cphpNamespace\x12"
        b"4\n\x16php_metadata_namespace\x18, \x01(\tR\x14phpMetadataNamespace\x12!\n\x0c"
        b"ruby_package\x18- \x01(\tR\x0brubyPackage\x127\n\x08features\x182 \x01(\x0b"
        b"2\x1b.google.protobuf.FeatureSetR\x08features\x12X\n\x14uninterpreted_optio"
        b"n\x18\xe7\x07 \x03(\x0b2$.google.protobuf.UninterpretedOptionR\x13uninterpr"
        b'etedOption":\n\x0cOptimizeMode\x12\t\n\x05SPEED\x10\x01\x12\r\n\tCODE_SIZE\x10'
        b"\x02\x12\x10\n\x0cLITE_RUNTIME\x10\x03*\x06\x08\xde\x07\x10\xe7\x07*\t\x08\xe8"
        b"\x07\x10\x80\x80\x80\x80\x02J\x04\x08*\x10+J\x04\x08&\x10'R\x14php_generic_"
        b'services"\xfc\x03\n\x0eMessageOptions\x12<\n\x17message_set_wire_format\x18'
        b"\x01 \x01(\x08:\x05falseR\x14messageSetWireFormat\x12L\n\x1fno_standard_des"
        b"criptor_accessor\x18\x02 \x01(\x08:\x05falseR\x1cnoStandardDescriptorAccess"
        b"or\x12%\n\ndeprecated\x18\x03 \x01(\x08:\x05falseR\ndeprecated\x12\x1b\n\tm"
        b"ap_entry\x18\x07 \x01(\x08R\x08mapEntry\x12V\n&deprecated_legacy_json_field"
        b'_conflicts\x18\x0b \x01(\x08B\x02\x18\x01R"deprecatedLegacyJsonFieldConflic'
        b"ts\x127\n\x08features\x18\x0c \x01(\x0b2\x1b.google.protobuf.FeatureSetR\x08"
        b"features\x12X\n\x14uninterpreted_option\x18\xe7\x07 \x03(\x0b2$.google.prot"
        b"obuf.UninterpretedOptionR\x13uninterpretedOption*\x06\x08\xde\x07\x10\xe7\x07"
        b"*\t\x08\xe8\x07\x10\x80\x80\x80\x80\x02J\x04\x08\x04\x10\x05J\x04\x08\x05\x10"
        b'\x06J\x04\x08\x06\x10\x07J\x04\x08\x08\x10\tJ\x04\x08\t\x10\n"\xce\r\n\x0cF'
        b"ieldOptions\x12A\n\x05ctype\x18\x01 \x01(\x0e2#.google.protobuf.FieldOption"
        b"s.CType:\x06STRINGR\x05ctype\x12\x16\n\x06packed\x18\x02 \x01(\x08R\x06pack"
        b"ed\x12G\n\x06jstype\x18\x06 \x01(\x0e2$.google.protobuf.FieldOptions.JSType"
        b":\tJS_NORMALR\x06jstype\x12\x19\n\x04lazy\x18\x05 \x01(\x08:\x05falseR\x04l"
        b"azy\x12.\n\x0funverified_lazy\x18\x0f \x01(\x08:\x05falseR\x0eunverifiedLaz"
        b"y\x12%\n\ndeprecated\x18\x03 \x01(\x08:\x05falseR\ndeprecated\x12\x1d\n\x04"
        b"weak\x18\n \x01(\x08:\x05falseB\x02\x18\x01R\x04weak\x12(\n\x0cdebug_redact"
        b"\x18\x10 \x01(\x08:\x05falseR\x0bdebugRedact\x12K\n\tretention\x18\x11 \x01"
        b"(\x0e2-.google.protobuf.FieldOptions.OptionRetentionR\tretention\x12H\n\x07"
        b"targets\x18\x13 \x03(\x0e2..google.protobuf.FieldOptions.OptionTargetTypeR\x07"
        b"targets\x12W\n\x10edition_defaults\x18\x14 \x03(\x0b2,.google.protobuf.Fiel"
        b"dOptions.EditionDefaultR\x0feditionDefaults\x127\n\x08features\x18\x15 \x01"
        b"(\x0b2\x1b.google.protobuf.FeatureSetR\x08features\x12U\n\x0ffeature_suppor"
        b"t\x18\x16 \x01(\x0b2,.google.protobuf.FieldOptions.FeatureSupportR\x0efeatu"
        b"reSupport\x12X\n\x14uninterpreted_option\x18\xe7\x07 \x03(\x0b2$.google.pro"
        b"tobuf.UninterpretedOptionR\x13uninterpretedOption\x1aZ\n\x0eEditionDefault\x12"
        b"2\n\x07edition\x18\x03 \x01(\x0e2\x18.google.protobuf.EditionR\x07edition\x12"
        b"\x14\n\x05value\x18\x02 \x01(\tR\x05value\x1a\xbb\x02\n\x0eFeatureSupport\x12"
        b"G\n\x12edition_introduced\x18\x01 \x01(\x0e2\x18.google.protobuf.EditionR\x11"
        b"editionIntroduced\x12G\n\x12edition_deprecated\x18\x02 \x01(\x0e2\x18.googl"
        b"e.protobuf.EditionR\x11editionDeprecated\x12/\n\x13deprecation_warning\x18\x03"
        b" \x01(\tR\x12deprecationWarning\x12A\n\x0fedition_removed\x18\x04 \x01(\x0e"
        b"2\x18.google.protobuf.EditionR\x0eeditionRemoved\x12#\n\rremoval_error\x18\x05"
        b' \x01(\tR\x0cremovalError"/\n\x05CType\x12\n\n\x06STRING\x10\x00\x12\x08\n\x04'
        b'CORD\x10\x01\x12\x10\n\x0cSTRING_PIECE\x10\x02"5\n\x06JSType\x12\r\n\tJS_NO'
        b'RMAL\x10\x00\x12\r\n\tJS_STRING\x10\x01\x12\r\n\tJS_NUMBER\x10\x02"U\n\x0fO'
        b"ptionRetention\x12\x15\n\x11RETENTION_UNKNOWN\x10\x00\x12\x15\n\x11RETENTIO"
        b'N_RUNTIME\x10\x01\x12\x14\n\x10RETENTION_SOURCE\x10\x02"\x8c\x02\n\x10Optio'
        b"nTargetType\x12\x17\n\x13TARGET_TYPE_UNKNOWN\x10\x00\x12\x14\n\x10TARGET_TY"
        b"PE_FILE\x10\x01\x12\x1f\n\x1bTARGET_TYPE_EXTENSION_RANGE\x10\x02\x12\x17\n\x13"
        b"TARGET_TYPE_MESSAGE\x10\x03\x12\x15\n\x11TARGET_TYPE_FIELD\x10\x04\x12\x15\n"
        b"\x11TARGET_TYPE_ONEOF\x10\x05\x12\x14\n\x10TARGET_TYPE_ENUM\x10\x06\x12\x1a"
        b"\n\x16TARGET_TYPE_ENUM_ENTRY\x10\x07\x12\x17\n\x13TARGET_TYPE_SERVICE\x10\x08"
        b"\x12\x16\n\x12TARGET_TYPE_METHOD\x10\t*\x06\x08\xde\x07\x10\xe7\x07*\t\x08\xe8"
        b'\x07\x10\x80\x80\x80\x80\x02J\x04\x08\x04\x10\x05J\x04\x08\x12\x10\x13"\xb4'
        b"\x01\n\x0cOneofOptions\x127\n\x08features\x18\x01 \x01(\x0b2\x1b.google.pro"
        b"tobuf.FeatureSetR\x08features\x12X\n\x14uninterpreted_option\x18\xe7\x07 \x03"
        b"(\x0b2$.google.protobuf.UninterpretedOptionR\x13uninterpretedOption*\x06\x08"
        b'\xde\x07\x10\xe7\x07*\t\x08\xe8\x07\x10\x80\x80\x80\x80\x02"\xd9\x02\n\x0bE'
        b"numOptions\x12\x1f\n\x0ballow_alias\x18\x02 \x01(\x08R\nallowAlias\x12%\n\n"
        b"deprecated\x18\x03 \x01(\x08:\x05falseR\ndeprecated\x12V\n&deprecated_legac"
        b'y_json_field_conflicts\x18\x06 \x01(\x08B\x02\x18\x01R"deprecatedLegacyJson'
        b"FieldConflicts\x127\n\x08features\x18\x07 \x01(\x0b2\x1b.google.protobuf.Fe"
        b"atureSetR\x08features\x12X\n\x14uninterpreted_option\x18\xe7\x07 \x03(\x0b2"
        b"$.google.protobuf.UninterpretedOptionR\x13uninterpretedOption*\x06\x08\xde\x07"
        b'\x10\xe7\x07*\t\x08\xe8\x07\x10\x80\x80\x80\x80\x02J\x04\x08\x05\x10\x06"\xe0'
        b"\x02\n\x10EnumValueOptions\x12%\n\ndeprecated\x18\x01 \x01(\x08:\x05falseR\n"
        b"deprecated\x127\n\x08features\x18\x02 \x01(\x0b2\x1b.google.protobuf.Featur"
        b"eSetR\x08features\x12(\n\x0cdebug_redact\x18\x03 \x01(\x08:\x05falseR\x0bde"
        b"bugRedact\x12U\n\x0ffeature_support\x18\x04 \x01(\x0b2,.google.protobuf.Fie"
        b"ldOptions.FeatureSupportR\x0efeatureSupport\x12X\n\x14uninterpreted_option\x18"
        b"\xe7\x07 \x03(\x0b2$.google.protobuf.UninterpretedOptionR\x13uninterpretedO"
        b'ption*\x06\x08\xde\x07\x10\xe7\x07*\t\x08\xe8\x07\x10\x80\x80\x80\x80\x02"\xdd'
        b'\x01\n\x0eServiceOptions\x127\n\x08features\x18" \x01(\x0b2\x1b.google.prot'
        b"obuf.FeatureSetR\x08features\x12%\n\ndeprecated\x18! \x01(\x08:\x05falseR\n"
        b"deprecated\x12X\n\x14uninterpreted_option\x18\xe7\x07 \x03(\x0b2$.google.pr"
        b"otobuf.UninterpretedOptionR\x13uninterpretedOption*\x06\x08\xde\x07\x10\xe7"
        b'\x07*\t\x08\xe8\x07\x10\x80\x80\x80\x80\x02"\xa1\x03\n\rMethodOptions\x12%\n'
        b"\ndeprecated\x18! \x01(\x08:\x05falseR\ndeprecated\x12q\n\x11idempotency_le"
        b'vel\x18" \x01(\x0e2/.google.protobuf.MethodOptions.IdempotencyLevel:\x13IDE'
        b"MPOTENCY_UNKNOWNR\x10idempotencyLevel\x127\n\x08features\x18# \x01(\x0b2\x1b"
        b".google.protobuf.FeatureSetR\x08features\x12X\n\x14uninterpreted_option\x18"
        b"\xe7\x07 \x03(\x0b2$.google.protobuf.UninterpretedOptionR\x13uninterpretedO"
        b'ption"P\n\x10IdempotencyLevel\x12\x17\n\x13IDEMPOTENCY_UNKNOWN\x10\x00\x12\x13'
        b"\n\x0fNO_SIDE_EFFECTS\x10\x01\x12\x0e\n\nIDEMPOTENT\x10\x02*\x06\x08\xde\x07"
        b'\x10\xe7\x07*\t\x08\xe8\x07\x10\x80\x80\x80\x80\x02"\x9a\x03\n\x13Uninterpr'
        b"etedOption\x12A\n\x04name\x18\x02 \x03(\x0b2-.google.protobuf.Uninterpreted"
        b"Option.NamePartR\x04name\x12)\n\x10identifier_value\x18\x03 \x01(\tR\x0fide"
        b"ntifierValue\x12,\n\x12positive_int_value\x18\x04 \x01(\x04R\x10positiveInt"
        b"Value\x12,\n\x12negative_int_value\x18\x05 \x01(\x03R\x10negativeIntValue\x12"
        b"!\n\x0cdouble_value\x18\x06 \x01(\x01R\x0bdoubleValue\x12!\n\x0cstring_valu"
        b"e\x18\x07 \x01(\x0cR\x0bstringValue\x12'\n\x0faggregate_value\x18\x08 \x01("
        b"\tR\x0eaggregateValue\x1aJ\n\x08NamePart\x12\x1b\n\tname_part\x18\x01 \x02("
        b'\tR\x08namePart\x12!\n\x0cis_extension\x18\x02 \x02(\x08R\x0bisExtension"\xae'
        b"\x0f\n\nFeatureSet\x12\x91\x01\n\x0efield_presence\x18\x01 \x01(\x0e2).goog"
        b"le.protobuf.FeatureSet.FieldPresenceB?\x88\x01\x01\x98\x01\x04\x98\x01\x01\xa2"
        b"\x01\r\x12\x08EXPLICIT\x18\x84\x07\xa2\x01\r\x12\x08IMPLICIT\x18\xe7\x07\xa2"
        b"\x01\r\x12\x08EXPLICIT\x18\xe8\x07\xb2\x01\x03\x08\xe8\x07R\rfieldPresence\x12"
        b"l\n\tenum_type\x18\x02 \x01(\x0e2$.google.protobuf.FeatureSet.EnumTypeB)\x88"
        b"\x01\x01\x98\x01\x06\x98\x01\x01\xa2\x01\x0b\x12\x06CLOSED\x18\x84\x07\xa2\x01"
        b"\t\x12\x04OPEN\x18\xe7\x07\xb2\x01\x03\x08\xe8\x07R\x08enumType\x12\x98\x01"
        b"\n\x17repeated_field_encoding\x18\x03 \x01(\x0e21.google.protobuf.FeatureSe"
        b"t.RepeatedFieldEncodingB-\x88\x01\x01\x98\x01\x04\x98\x01\x01\xa2\x01\r\x12"
        b"\x08EXPANDED\x18\x84\x07\xa2\x01\x0b\x12\x06PACKED\x18\xe7\x07\xb2\x01\x03\x08"
        b"\xe8\x07R\x15repeatedFieldEncoding\x12~\n\x0futf8_validation\x18\x04 \x01(\x0e"
        b"2*.google.protobuf.FeatureSet.Utf8ValidationB)\x88\x01\x01\x98\x01\x04\x98\x01"
        b"\x01\xa2\x01\t\x12\x04NONE\x18\x84\x07\xa2\x01\x0b\x12\x06VERIFY\x18\xe7\x07"
        b"\xb2\x01\x03\x08\xe8\x07R\x0eutf8Validation\x12~\n\x10message_encoding\x18\x05"
        b" \x01(\x0e2+.google.protobuf.FeatureSet.MessageEncodingB&\x88\x01\x01\x98\x01"
        b"\x04\x98\x01\x01\xa2\x01\x14\x12\x0fLENGTH_PREFIXED\x18\x84\x07\xb2\x01\x03"
        b"\x08\xe8\x07R\x0fmessageEncoding\x12\x82\x01\n\x0bjson_format\x18\x06 \x01("
        b"\x0e2&.google.protobuf.FeatureSet.JsonFormatB9\x88\x01\x01\x98\x01\x03\x98\x01"
        b"\x06\x98\x01\x01\xa2\x01\x17\x12\x12LEGACY_BEST_EFFORT\x18\x84\x07\xa2\x01\n"
        b"\x12\x05ALLOW\x18\xe7\x07\xb2\x01\x03\x08\xe8\x07R\njsonFormat\x12\xbc\x01\n"
        b"\x14enforce_naming_style\x18\x07 \x01(\x0e2..google.protobuf.FeatureSet.Enf"
        b"orceNamingStyleBZ\x88\x01\x02\x98\x01\x01\x98\x01\x02\x98\x01\x03\x98\x01\x04"
        b"\x98\x01\x05\x98\x01\x06\x98\x01\x07\x98\x01\x08\x98\x01\t\xa2\x01\x11\x12\x0c"
        b"STYLE_LEGACY\x18\x84\x07\xa2\x01\x0e\x12\tSTYLE2024\x18\xe9\x07\xa2\x01\x0e"
        b"\x12\tSTYLE2026\x18\x8fN\xb2\x01\x03\x08\xe9\x07R\x12enforceNamingStyle\x12"
        b"\xb9\x01\n\x19default_symbol_visibility\x18\x08 \x01(\x0e2E.google.protobuf"
        b".FeatureSet.VisibilityFeature.DefaultSymbolVisibilityB6\x88\x01\x02\x98\x01"
        b"\x01\xa2\x01\x0f\x12\nEXPORT_ALL\x18\x84\x07\xa2\x01\x15\x12\x10EXPORT_TOP_"
        b"LEVEL\x18\xe9\x07\xb2\x01\x03\x08\xe9\x07R\x17defaultSymbolVisibility\x1a\xa1"
        b'\x01\n\x11VisibilityFeature"\x81\x01\n\x17DefaultSymbolVisibility\x12%\n!DE'
        b"FAULT_SYMBOL_VISIBILITY_UNKNOWN\x10\x00\x12\x0e\n\nEXPORT_ALL\x10\x01\x12\x14"
        b"\n\x10EXPORT_TOP_LEVEL\x10\x02\x12\r\n\tLOCAL_ALL\x10\x03\x12\n\n\x06STRICT"
        b'\x10\x04J\x08\x08\x01\x10\x80\x80\x80\x80\x02"\\\n\rFieldPresence\x12\x1a\n'
        b"\x16FIELD_PRESENCE_UNKNOWN\x10\x00\x12\x0c\n\x08EXPLICIT\x10\x01\x12\x0c\n\x08"
        b'IMPLICIT\x10\x02\x12\x13\n\x0fLEGACY_REQUIRED\x10\x03"7\n\x08EnumType\x12\x15'
        b"\n\x11ENUM_TYPE_UNKNOWN\x10\x00\x12\x08\n\x04OPEN\x10\x01\x12\n\n\x06CLOSED"
        b'\x10\x02"V\n\x15RepeatedFieldEncoding\x12#\n\x1fREPEATED_FIELD_ENCODING_UNK'
        b'NOWN\x10\x00\x12\n\n\x06PACKED\x10\x01\x12\x0c\n\x08EXPANDED\x10\x02"I\n\x0e'
        b"Utf8Validation\x12\x1b\n\x17UTF8_VALIDATION_UNKNOWN\x10\x00\x12\n\n\x06VERI"
        b'FY\x10\x02\x12\x08\n\x04NONE\x10\x03"\x04\x08\x01\x10\x01"S\n\x0fMessageEnc'
        b"oding\x12\x1c\n\x18MESSAGE_ENCODING_UNKNOWN\x10\x00\x12\x13\n\x0fLENGTH_PRE"
        b'FIXED\x10\x01\x12\r\n\tDELIMITED\x10\x02"H\n\nJsonFormat\x12\x17\n\x13JSON_'
        b"FORMAT_UNKNOWN\x10\x00\x12\t\n\x05ALLOW\x10\x01\x12\x16\n\x12LEGACY_BEST_EF"
        b'FORT\x10\x02"f\n\x12EnforceNamingStyle\x12 \n\x1cENFORCE_NAMING_STYLE_UNKNO'
        b"WN\x10\x00\x12\r\n\tSTYLE2024\x10\x01\x12\x10\n\x0cSTYLE_LEGACY\x10\x02\x12"
        b"\r\n\tSTYLE2026\x10\x03*\x06\x08\xe8\x07\x10\x8bN*\x06\x08\x8bN\x10\x90N*\x06"
        b'\x08\x90N\x10\x91NJ\x06\x08\xe7\x07\x10\xe8\x07"\xef\x03\n\x12FeatureSetDef'
        b"aults\x12X\n\x08defaults\x18\x01 \x03(\x0b2<.google.protobuf.FeatureSetDefa"
        b"ults.FeatureSetEditionDefaultR\x08defaults\x12A\n\x0fminimum_edition\x18\x04"
        b" \x01(\x0e2\x18.google.protobuf.EditionR\x0eminimumEdition\x12A\n\x0fmaximu"
        b"m_edition\x18\x05 \x01(\x0e2\x18.google.protobuf.EditionR\x0emaximumEdition"
        b"\x1a\xf8\x01\n\x18FeatureSetEditionDefault\x122\n\x07edition\x18\x03 \x01(\x0e"
        b"2\x18.google.protobuf.EditionR\x07edition\x12N\n\x14overridable_features\x18"
        b"\x04 \x01(\x0b2\x1b.google.protobuf.FeatureSetR\x13overridableFeatures\x12B"
        b"\n\x0efixed_features\x18\x05 \x01(\x0b2\x1b.google.protobuf.FeatureSetR\rfi"
        b'xedFeaturesJ\x04\x08\x01\x10\x02J\x04\x08\x02\x10\x03R\x08features"\xb5\x02'
        b"\n\x0eSourceCodeInfo\x12D\n\x08location\x18\x01 \x03(\x0b2(.google.protobuf"
        b".SourceCodeInfo.LocationR\x08location\x1a\xce\x01\n\x08Location\x12\x16\n\x04"
        b"path\x18\x01 \x03(\x05B\x02\x10\x01R\x04path\x12\x16\n\x04span\x18\x02 \x03"
        b"(\x05B\x02\x10\x01R\x04span\x12)\n\x10leading_comments\x18\x03 \x01(\tR\x0f"
        b"leadingComments\x12+\n\x11trailing_comments\x18\x04 \x01(\tR\x10trailingCom"
        b"ments\x12:\n\x19leading_detached_comments\x18\x06 \x03(\tR\x17leadingDetach"
        b'edComments*\x0c\x08\x80\xec\xca\xff\x01\x10\x81\xec\xca\xff\x01"\xd0\x02\n\x11'
        b"GeneratedCodeInfo\x12M\n\nannotation\x18\x01 \x03(\x0b2-.google.protobuf.Ge"
        b"neratedCodeInfo.AnnotationR\nannotation\x1a\xeb\x01\n\nAnnotation\x12\x16\n"
        b"\x04path\x18\x01 \x03(\x05B\x02\x10\x01R\x04path\x12\x1f\n\x0bsource_file\x18"
        b"\x02 \x01(\tR\nsourceFile\x12\x14\n\x05begin\x18\x03 \x01(\x05R\x05begin\x12"
        b"\x10\n\x03end\x18\x04 \x01(\x05R\x03end\x12R\n\x08semantic\x18\x05 \x01(\x0e"
        b'26.google.protobuf.GeneratedCodeInfo.Annotation.SemanticR\x08semantic"(\n\x08'
        b"Semantic\x12\x08\n\x04NONE\x10\x00\x12\x07\n\x03SET\x10\x01\x12\t\n\x05ALIA"
        b"S\x10\x02*\xd1\x02\n\x07Edition\x12\x13\n\x0fEDITION_UNKNOWN\x10\x00\x12\x13"
        b"\n\x0eEDITION_LEGACY\x10\x84\x07\x12\x13\n\x0eEDITION_PROTO2\x10\xe6\x07\x12"
        b"\x13\n\x0eEDITION_PROTO3\x10\xe7\x07\x12\x11\n\x0cEDITION_2023\x10\xe8\x07\x12"
        b"\x11\n\x0cEDITION_2024\x10\xe9\x07\x12\x11\n\x0cEDITION_2026\x10\xea\x07\x12"
        b"\x15\n\x10EDITION_UNSTABLE\x10\x8fN\x12\x17\n\x13EDITION_1_TEST_ONLY\x10\x01"
        b"\x12\x17\n\x13EDITION_2_TEST_ONLY\x10\x02\x12\x1d\n\x17EDITION_99997_TEST_O"
        b"NLY\x10\x9d\x8d\x06\x12\x1d\n\x17EDITION_99998_TEST_ONLY\x10\x9e\x8d\x06\x12"
        b"\x1d\n\x17EDITION_99999_TEST_ONLY\x10\x9f\x8d\x06\x12\x13\n\x0bEDITION_MAX\x10"
        b"\xff\xff\xff\xff\x07*U\n\x10SymbolVisibility\x12\x14\n\x10VISIBILITY_UNSET\x10"
        b"\x00\x12\x14\n\x10VISIBILITY_LOCAL\x10\x01\x12\x15\n\x11VISIBILITY_EXPORT\x10"
        b"\x02B~\n\x13com.google.protobufB\x10DescriptorProtosH\x01Z-google.golang.or"
        b"g/protobuf/types/descriptorpb\xf8\x01\x01\xa2\x02\x03GPB\xaa\x02\x1aGoogle."
        b"Protobuf.Reflection"
    ),
    "google/api/annotations.proto": (
        b"\n\x1cgoogle/api/annotations.proto\x12\ngoogle.api\x1a\x15google/api/http.p"
        b"roto\x1a google/protobuf/descriptor.proto:K\n\x04http\x12\x1e.google.protob"
        b'uf.MethodOptions\x18\xb0\xca\xbc" \x01(\x0b2\x14.google.api.HttpRuleR\x04ht'
        b"tpBn\n\x0ecom.google.apiB\x10AnnotationsProtoP\x01ZAgoogle.golang.org/genpr"
        b"oto/googleapis/api/annotations;annotations\xa2\x02\x04GAPIb\x06proto3"
    ),
    "google/api/field_behavior.proto": (
        b"\n\x1fgoogle/api/field_behavior.proto\x12\ngoogle.api\x1a google/protobuf/d"
        b"escriptor.proto*\xb6\x01\n\rFieldBehavior\x12\x1e\n\x1aFIELD_BEHAVIOR_UNSPE"
        b"CIFIED\x10\x00\x12\x0c\n\x08OPTIONAL\x10\x01\x12\x0c\n\x08REQUIRED\x10\x02\x12"
        b"\x0f\n\x0bOUTPUT_ONLY\x10\x03\x12\x0e\n\nINPUT_ONLY\x10\x04\x12\r\n\tIMMUTA"
        b"BLE\x10\x05\x12\x12\n\x0eUNORDERED_LIST\x10\x06\x12\x15\n\x11NON_EMPTY_DEFA"
        b"ULT\x10\x07\x12\x0e\n\nIDENTIFIER\x10\x08:`\n\x0efield_behavior\x12\x1d.goo"
        b"gle.protobuf.FieldOptions\x18\x9c\x08 \x03(\x0e2\x19.google.api.FieldBehavi"
        b"orR\rfieldBehaviorBp\n\x0ecom.google.apiB\x12FieldBehaviorProtoP\x01ZAgoogl"
        b"e.golang.org/genproto/googleapis/api/annotations;annotations\xa2\x02\x04GAP"
        b"Ib\x06proto3"
    ),
    "google/protobuf/timestamp.proto": (
        b'\n\x1fgoogle/protobuf/timestamp.proto\x12\x0fgoogle.protobuf";\n\tTimestamp'
        b"\x12\x18\n\x07seconds\x18\x01 \x01(\x03R\x07seconds\x12\x14\n\x05nanos\x18\x02"
        b" \x01(\x05R\x05nanosB\x85\x01\n\x13com.google.protobufB\x0eTimestampProtoP\x01"
        b"Z2google.golang.org/protobuf/types/known/timestamppb\xf8\x01\x01\xa2\x02\x03"
        b"GPB\xaa\x02\x1eGoogle.Protobuf.WellKnownTypesb\x06proto3"
    ),
    "bookshop/v1/bookshop.proto": (
        b"\n\x1abookshop/v1/bookshop.proto\x12\x0bbookshop.v1\x1a\x1cgoogle/api/annot"
        b"ations.proto\x1a\x1fgoogle/api/field_behavior.proto\x1a\x1fgoogle/protobuf/"
        b'timestamp.proto"\xe2\x01\n\x04Book\x12\x14\n\x02id\x18\x01 \x01(\tB\x04\xe2'
        b"A\x01\x03R\x02id\x12\x14\n\x05shelf\x18\x02 \x01(\tR\x05shelf\x12\x1a\n\x05"
        b"title\x18\x03 \x01(\tB\x04\xe2A\x01\x02R\x05title\x12\x1c\n\x06author\x18\x04"
        b" \x01(\tB\x04\xe2A\x01\x02R\x06author\x12\x1f\n\x0bprice_cents\x18\x05 \x01"
        b"(\x03R\npriceCents\x12\x12\n\x04tags\x18\x06 \x03(\tR\x04tags\x12?\n\ncreat"
        b"ed_at\x18\x07 \x01(\x0b2\x1a.google.protobuf.TimestampB\x04\xe2A\x01\x03R\t"
        b'createdAt"&\n\x0eGetBookRequest\x12\x14\n\x02id\x18\x01 \x01(\tB\x04\xe2A\x01'
        b'\x02R\x02id"j\n\x10ListBooksRequest\x12\x1a\n\x05shelf\x18\x01 \x01(\tB\x04'
        b"\xe2A\x01\x02R\x05shelf\x12\x1b\n\tpage_size\x18\x02 \x01(\rR\x08pageSize\x12"
        b'\x1d\n\npage_token\x18\x03 \x01(\tR\tpageToken"d\n\x11ListBooksResponse\x12'
        b"'\n\x05books\x18\x01 \x03(\x0b2\x11.bookshop.v1.BookR\x05books\x12&\n\x0fne"
        b'xt_page_token\x18\x02 \x01(\tR\rnextPageToken"\\\n\x11CreateBookRequest\x12'
        b"\x1a\n\x05shelf\x18\x01 \x01(\tB\x04\xe2A\x01\x02R\x05shelf\x12+\n\x04book\x18"
        b'\x02 \x01(\x0b2\x11.bookshop.v1.BookB\x04\xe2A\x01\x02R\x04book"0\n\x12Stre'
        b"amBooksRequest\x12\x1a\n\x05shelf\x18\x01 \x01(\tB\x04\xe2A\x01\x02R\x05she"
        b"lf2\xac\x03\n\x0fBookshopService\x12Q\n\x07GetBook\x12\x1b.bookshop.v1.GetB"
        b'ookRequest\x1a\x11.bookshop.v1.Book"\x16\x82\xd3\xe4\x93\x02\x10\x12\x0e/v1'
        b"/books/{id}\x12m\n\tListBooks\x12\x1d.bookshop.v1.ListBooksRequest\x1a\x1e."
        b'bookshop.v1.ListBooksResponse"!\x82\xd3\xe4\x93\x02\x1b\x12\x19/v1/shelves/'
        b"{shelf}/books\x12h\n\nCreateBook\x12\x1e.bookshop.v1.CreateBookRequest\x1a\x11"
        b'.bookshop.v1.Book"\'\x82\xd3\xe4\x93\x02!"\x19/v1/shelves/{shelf}/books:\x04'
        b"book\x12m\n\x0bStreamBooks\x12\x1f.bookshop.v1.StreamBooksRequest\x1a\x11.b"
        b'ookshop.v1.Book"(\x82\xd3\xe4\x93\x02"\x12 /v1/shelves/{shelf}/books:stream'
        b"0\x01b\x06proto3"
    ),
}
_IMPORTS: dict[str, tuple[str, ...]] = {
    "google/api/http.proto": (),
    "google/protobuf/descriptor.proto": (),
    "google/api/annotations.proto": (
        "google/api/http.proto",
        "google/protobuf/descriptor.proto",
    ),
    "google/api/field_behavior.proto": ("google/protobuf/descriptor.proto",),
    "google/protobuf/timestamp.proto": (),
    "bookshop/v1/bookshop.proto": (
        "google/api/annotations.proto",
        "google/api/field_behavior.proto",
        "google/protobuf/timestamp.proto",
    ),
}

POOL = descriptor_pool.DescriptorPool()
for _data in _FILES.values():
    POOL.AddSerializedFile(_data)


def message_class(full_name: str) -> Any:
    """The upb message class for ``full_name`` in this package's pool."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


def file_descriptor_set(name: str) -> bytes:
    """The serialized ``FileDescriptorSet`` of ``name`` and its imports, imports first."""
    order: list[str] = []

    def visit(file: str) -> None:
        if file in order:
            return
        for dep in _IMPORTS[file]:
            visit(dep)
        order.append(file)

    visit(name)
    fds = descriptor_pb2.FileDescriptorSet()
    for file in order:
        fds.file.append(descriptor_pb2.FileDescriptorProto.FromString(_FILES[file]))
    data: bytes = fds.SerializeToString(deterministic=True)
    return data
