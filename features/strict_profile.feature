Feature: Certificates that meet the profile their policy claims
  The strict policy claims the CA/Browser Forum S/MIME Baseline Requirements
  profile for mailbox-validated certificates, strict generation: every
  certificate it judges is linted with pkilint against that profile, and an
  organization under it issues certificates that meet it (the reserved policy
  OID 2.23.140.1.5.1.3, authorityInformationAccess, the mailbox as the
  subject's common name and no organization name). The profile allows no
  internal names, so these organizations have registrable mail domains.

  @KB-02 @KB-12
  Scenario: A modern exchange passes the strict policy
    Given the organization policy "strict"
    And Contoso runs its own key management for the domain contoso.example.com
    And Fabrikam runs its own key management for the domain fabrikam.example.com
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority
    And UserA has UserB in Contacts from an earlier signed message
    When UserA sends a signed and encrypted message to UserB
    Then the message is encrypted with "aes-256-gcm"
    And the policy reports no errors for the last message
    And the policy reports nothing about "pkilint.cabf.aia_extension_missing"
    And the policy reports nothing about "smime.alg.content.cbc-unauthenticated"
    And UserB can read the message

 
  Scenario: Adopting strict changes what the authority issues from then on
    Given Contoso runs its own key management for the domain contoso.example.com
    And Fabrikam runs its own key management for the domain fabrikam.example.com
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserB trusts Contoso's certificate authority
    And the organization policy "strict"
    When UserA sends a signed message to UserB
    Then the policy reports "pkilint.cabf.smime.prohibited_attribute" as an error
    And the policy reports "pkilint.cabf.smime.certificate_policies_extension_missing" as an error
    When Contoso renews UserA's certificates
    And UserA sends a signed message to UserB
    Then the policy reports no errors for the last message
    And UserB sees the signature as "valid"
