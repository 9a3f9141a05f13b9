Feature: Anyone may send signed mail
  Signing never depends on the recipient. A signed message tells the recipient
  that the sender is enrolled and carries what is needed to encrypt back.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam with separate signing and encryption certificates
    And UserC has a mailbox at Fabrikam but is not enrolled

  @KB-05
  Scenario: A signed message reaches a recipient who is not enrolled
    When UserA sends a signed message to UserC
    Then the message is sent signed and unencrypted
    And UserC can read the message
    And UserC sees the signature as "untrusted-issuer"

  @KB-06 @KB-08
  Scenario: A signed message crosses organizations and carries the way back
    Given UserA trusts Fabrikam's certificate authority
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"
    And the signature carries UserB's certificate chain
    And the signature names UserB's encryption certificate as preferred
    And the signature announces the capabilities "aes-256-cbc, aes-128-cbc, des-ede3-cbc"

  @KB-08 @IMP-03
  Scenario: Without a trust decision the other organization's signature is untrusted
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "untrusted-issuer"
