"""The operations this suite is about, by upstream operationId: one list for every room.

The seven API endpoints, then the public file route that GetFileLink hands out (GET and HEAD;
upstream documents only GET, see specs/errata.yaml).
"""

API_OPERATIONS = (
    "GetFileInfosForPost",
    "UploadFile",
    "GetFile",
    "GetFileLink",
    "GetFileInfo",
    "UploadLicenseFile",
    "RemoveLicenseFile",
)
PUBLIC_OPERATIONS = ("GetFilePublic", "HeadFilePublic")
OPERATION_IDS = API_OPERATIONS + PUBLIC_OPERATIONS
